// Elementwise operations, reductions, sorting and sampling for the C shim.
#include "common.hpp"

using namespace ctorch;

// The dispatch switches below take every enumerator of their list (the build fails on a missing
// one, -Werror=switch) and have no default: a code outside the list falls through to the throw.

static at::Tensor unary(int op, const at::Tensor &a) {
  switch (static_cast<ct_unary_op>(op)) {
    case CT_NEG: return a.neg();
    case CT_ABS: return a.abs();
    case CT_EXP: return a.exp();
    case CT_LOG: return a.log();
    case CT_SQRT: return a.sqrt();
    case CT_RSQRT: return a.rsqrt();
    case CT_SIN: return a.sin();
    case CT_COS: return a.cos();
    case CT_TANH: return a.tanh();
    case CT_SIGMOID: return a.sigmoid();
    case CT_RELU: return a.relu();
    case CT_GELU: return at::gelu(a);
    case CT_GELU_TANH: return at::gelu(a, "tanh");
    case CT_SILU: return at::silu(a);
    case CT_SOFTPLUS: return at::softplus(a);
    case CT_SIGN: return a.sign();
    case CT_FLOOR: return a.floor();
    case CT_CEIL: return a.ceil();
    case CT_ROUND: return a.round();
    case CT_LOGICAL_NOT: return a.logical_not();
    case CT_ERF: return a.erf();
    case CT_LOG1P: return a.log1p();
    case CT_EXPM1: return a.expm1();
    case CT_RECIPROCAL: return a.reciprocal();
    case CT_SQUARE: return a.square();
    case CT_ISNAN: return a.isnan();
    case CT_LOGSIGMOID: return at::log_sigmoid(a);
  }
  throw unknown("unary op", op);
}

// B is at::Tensor or at::Scalar; some ops have only one of the two forms.
template <typename B>
static at::Tensor binary(int op, const at::Tensor &a, const B &b) {
  constexpr bool tensor = std::is_same_v<B, at::Tensor>;
  switch (static_cast<ct_binary_op>(op)) {
    case CT_ADD: return at::add(a, b);
    case CT_SUB: return at::sub(a, b);
    case CT_MUL: return at::mul(a, b);
    case CT_DIV: return at::div(a, b);
    case CT_POW: return at::pow(a, b);
    case CT_EQ: return at::eq(a, b);
    case CT_NE: return at::ne(a, b);
    case CT_LT: return at::lt(a, b);
    case CT_LE: return at::le(a, b);
    case CT_GT: return at::gt(a, b);
    case CT_GE: return at::ge(a, b);
    case CT_REMAINDER: return at::remainder(a, b);
    case CT_FLOOR_DIVIDE: return at::floor_divide(a, b);
    case CT_BITWISE_AND: return at::bitwise_and(a, b);
    case CT_BITWISE_OR: return at::bitwise_or(a, b);
    case CT_BITWISE_XOR: return at::bitwise_xor(a, b);
    case CT_SHIFT_LEFT: return at::bitwise_left_shift(a, b);
    case CT_SHIFT_RIGHT: return at::bitwise_right_shift(a, b);
    case CT_MAXIMUM:
      if constexpr (tensor) return at::maximum(a, b); else return at::clamp_min(a, b);
    case CT_MINIMUM:
      if constexpr (tensor) return at::minimum(a, b); else return at::clamp_max(a, b);
    case CT_LOGICAL_AND:
      if constexpr (tensor) return at::logical_and(a, b); else break;
    case CT_LOGICAL_OR:
      if constexpr (tensor) return at::logical_or(a, b); else break;
    case CT_RSUB:
      if constexpr (tensor) break; else return at::rsub(a, b);
    case CT_RDIV:
      if constexpr (tensor) break; else return at::mul(at::reciprocal(a), b);
  }
  if (name_or(CT_ENUM_BINARY, op, nullptr))
    throw std::invalid_argument(tensor ? "no form with a tensor operand" : "no form with a scalar operand");
  throw unknown("binary op", op);
}

static at::Tensor reduce(int op, const at::Tensor &a, at::IntArrayRef dims, bool keepdim) {
  bool all = dims.empty();
  switch (static_cast<ct_reduce_op>(op)) {
    case CT_SUM: return all ? (keepdim ? a.sum(at::OptionalIntArrayRef{}, true) : a.sum()) : a.sum(dims, keepdim);
    case CT_MEAN: return all ? (keepdim ? a.mean(at::OptionalIntArrayRef{}, true) : a.mean()) : a.mean(dims, keepdim);
    case CT_AMAX: return a.amax(dims, keepdim);
    case CT_AMIN: return a.amin(dims, keepdim);
    case CT_LOGSUMEXP: {
      std::vector<int64_t> every;
      for (int64_t i = 0; i < a.dim(); ++i) every.push_back(i);
      return at::logsumexp(a, all ? at::IntArrayRef(every) : dims, keepdim);
    }
    case CT_PROD:
    case CT_ALL:
    case CT_ANY: {
      at::Tensor r = a;
      if (all) {
        r = op == CT_PROD ? a.prod() : op == CT_ALL ? a.all() : a.any();
        if (keepdim) r = r.reshape(std::vector<int64_t>(a.dim(), 1));
        return r;
      }
      std::vector<int64_t> sorted(dims.begin(), dims.end());
      for (auto &d : sorted) d = c10::maybe_wrap_dim(d, a.dim());
      std::sort(sorted.rbegin(), sorted.rend());
      for (auto d : sorted) r = op == CT_PROD ? r.prod(d, keepdim) : op == CT_ALL ? r.all(d, keepdim) : r.any(d, keepdim);
      return r;
    }
  }
  throw unknown("reduce op", op);
}

extern "C" {

ct_error ct_unary(int op, const ct_tensor *a, ct_tensor **out) {
  CT_GUARD(name_or(CT_ENUM_UNARY, op, "unary"), *out = wrap(unary(op, T(a))))
}

ct_error ct_binary(int op, const ct_tensor *a, const ct_tensor *b, ct_tensor **out) {
  CT_GUARD(name_or(CT_ENUM_BINARY, op, "binary"), *out = wrap(binary(op, T(a), T(b))))
}

ct_error ct_binary_scalar(int op, const ct_tensor *a, double s, bool integral, ct_tensor **out) {
  CT_GUARD(name_or(CT_ENUM_BINARY, op, "binary"), {
    at::Scalar scalar = integral ? at::Scalar(static_cast<int64_t>(s)) : at::Scalar(s);
    *out = wrap(binary(op, T(a), scalar));
  })
}

ct_error ct_clamp(const ct_tensor *a, double lo, double hi, bool has_lo, bool has_hi, ct_tensor **out) {
  CT_GUARD("clamp", {
    c10::optional<at::Scalar> l = has_lo ? c10::optional<at::Scalar>(lo) : c10::nullopt;
    c10::optional<at::Scalar> h = has_hi ? c10::optional<at::Scalar>(hi) : c10::nullopt;
    *out = wrap(at::clamp(T(a), l, h));
  })
}

ct_error ct_where(const ct_tensor *cond, const ct_tensor *a, const ct_tensor *b, ct_tensor **out) {
  CT_GUARD("where", *out = wrap(at::where(T(cond), T(a), T(b))))
}

ct_error ct_leaky_relu(const ct_tensor *a, double slope, ct_tensor **out) {
  CT_GUARD("leaky_relu", *out = wrap(at::leaky_relu(T(a), slope)))
}

ct_error ct_reduce(int op, const ct_tensor *a, const int64_t *dims, int ndims, bool keepdim, ct_tensor **out) {
  CT_GUARD(name_or(CT_ENUM_REDUCE, op, "reduce"), *out = wrap(reduce(op, T(a), ints(dims, ndims), keepdim)))
}

ct_error ct_var(const ct_tensor *a, const int64_t *dims, int ndims, int64_t correction, bool keepdim,
                ct_tensor **out) {
  CT_GUARD("var", {
    at::OptionalIntArrayRef d = ndims ? at::OptionalIntArrayRef(ints(dims, ndims)) : at::OptionalIntArrayRef{};
    *out = wrap(at::var(T(a), d, at::Scalar(correction), keepdim));
  })
}

ct_error ct_argmax(const ct_tensor *a, int64_t dim, bool keepdim, bool min, ct_tensor **out) {
  CT_GUARD(min ? "argmin" : "argmax", *out = wrap(min ? T(a).argmin(dim, keepdim) : T(a).argmax(dim, keepdim)))
}

ct_error ct_softmax(const ct_tensor *a, int64_t dim, bool log, ct_tensor **out) {
  CT_GUARD(log ? "log_softmax" : "softmax", *out = wrap(log ? at::log_softmax(T(a), dim) : at::softmax(T(a), dim)))
}

ct_error ct_cumsum(const ct_tensor *a, int64_t dim, ct_tensor **out) {
  CT_GUARD("cumsum", *out = wrap(at::cumsum(T(a), dim)))
}

ct_error ct_topk(const ct_tensor *a, int64_t k, int64_t dim, bool largest, ct_tensor **values, ct_tensor **indices) {
  CT_GUARD("topk", {
    auto r = at::topk(T(a), k, dim, largest, true);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  })
}

ct_error ct_sort(const ct_tensor *a, int64_t dim, bool descending, ct_tensor **values, ct_tensor **indices) {
  CT_GUARD("sort", {
    auto r = at::sort(T(a), dim, descending);
    *values = wrap(std::get<0>(r));
    *indices = wrap(std::get<1>(r));
  })
}

ct_error ct_multinomial(const ct_tensor *probs, int64_t n, bool replacement, ct_tensor **out) {
  CT_GUARD("multinomial", *out = wrap(at::multinomial(T(probs), n, replacement)))
}

// In-place updates: they record autograd history like any op, so optimizers run them under no-grad.
ct_error ct_inplace(int op, ct_tensor *a, const ct_tensor *b, double alpha) {
  CT_GUARD(name_or(CT_ENUM_BINARY, op, "binary"), {
    switch (op) {
      case CT_ADD: a->t.add_(T(b), alpha); break;
      case CT_SUB: a->t.sub_(T(b), alpha); break;
      case CT_MUL: a->t.mul_(T(b)); break;
      case CT_DIV: a->t.div_(T(b)); break;
      default: throw std::invalid_argument("no in-place form");
    }
  })
}

ct_error ct_inplace_scalar(int op, ct_tensor *a, double s) {
  CT_GUARD(name_or(CT_ENUM_BINARY, op, "binary"), {
    switch (op) {
      case CT_ADD: a->t.add_(s); break;
      case CT_SUB: a->t.sub_(s); break;
      case CT_MUL: a->t.mul_(s); break;
      case CT_DIV: a->t.div_(s); break;
      case CT_POW: a->t.pow_(s); break;
      default: throw std::invalid_argument("no in-place form");
    }
  })
}

ct_error ct_addcmul_(ct_tensor *a, const ct_tensor *b, const ct_tensor *c, double value) {
  CT_GUARD("addcmul_", a->t.addcmul_(T(b), T(c), value))
}
ct_error ct_addcdiv_(ct_tensor *a, const ct_tensor *b, const ct_tensor *c, double value) {
  CT_GUARD("addcdiv_", a->t.addcdiv_(T(b), T(c), value))
}
ct_error ct_lerp_(ct_tensor *a, const ct_tensor *end, double weight) {
  CT_GUARD("lerp_", a->t.lerp_(T(end), weight))
}
ct_error ct_copy_(ct_tensor *dst, const ct_tensor *src) { CT_GUARD("copy_", dst->t.copy_(T(src))) }
ct_error ct_fill_(ct_tensor *a, double value) { CT_GUARD("fill_", a->t.fill_(value)) }
ct_error ct_uniform_(ct_tensor *a, double lo, double hi) { CT_GUARD("uniform_", a->t.uniform_(lo, hi)) }
ct_error ct_normal_(ct_tensor *a, double mean, double std) { CT_GUARD("normal_", a->t.normal_(mean, std)) }
ct_error ct_set_data(ct_tensor *a, const ct_tensor *src) { CT_GUARD("set_data", a->t.set_data(T(src))) }

}  // extern "C"
