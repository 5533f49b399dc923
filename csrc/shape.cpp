// Shape, view and indexing operations for the C shim.
#include "common.hpp"

using namespace ctorch;

extern "C" {

ct_error ct_reshape(const ct_tensor *a, const int64_t *shape, int n, ct_tensor **out) {
  CT_GUARD("reshape", *out = wrap(T(a).reshape(ints(shape, n))))
}
ct_error ct_permute(const ct_tensor *a, const int64_t *dims, int n, ct_tensor **out) {
  CT_GUARD("permute", *out = wrap(T(a).permute(ints(dims, n))))
}
ct_error ct_transpose(const ct_tensor *a, int64_t d0, int64_t d1, ct_tensor **out) {
  CT_GUARD("transpose", *out = wrap(T(a).transpose(d0, d1)))
}
ct_error ct_expand(const ct_tensor *a, const int64_t *shape, int n, ct_tensor **out) {
  CT_GUARD("expand", *out = wrap(T(a).expand(ints(shape, n))))
}
ct_error ct_repeat(const ct_tensor *a, const int64_t *repeats, int n, ct_tensor **out) {
  CT_GUARD("repeat", *out = wrap(T(a).repeat(ints(repeats, n))))
}
ct_error ct_squeeze(const ct_tensor *a, int64_t dim, ct_tensor **out) {
  CT_GUARD("squeeze", *out = wrap(T(a).squeeze(dim)))
}
ct_error ct_unsqueeze(const ct_tensor *a, int64_t dim, ct_tensor **out) {
  CT_GUARD("unsqueeze", *out = wrap(T(a).unsqueeze(dim)))
}
ct_error ct_flip(const ct_tensor *a, const int64_t *dims, int n, ct_tensor **out) {
  CT_GUARD("flip", *out = wrap(T(a).flip(ints(dims, n))))
}
ct_error ct_narrow(const ct_tensor *a, int64_t dim, int64_t start, int64_t length, ct_tensor **out) {
  CT_GUARD("narrow", *out = wrap(T(a).narrow(dim, start, length)))
}
ct_error ct_select(const ct_tensor *a, int64_t dim, int64_t index, ct_tensor **out) {
  CT_GUARD("select", *out = wrap(T(a).select(dim, index)))
}
ct_error ct_index_select(const ct_tensor *a, int64_t dim, const ct_tensor *index, ct_tensor **out) {
  CT_GUARD("index_select", *out = wrap(T(a).index_select(dim, T(index))))
}
ct_error ct_gather(const ct_tensor *a, int64_t dim, const ct_tensor *index, ct_tensor **out) {
  CT_GUARD("gather", *out = wrap(T(a).gather(dim, T(index))))
}
ct_error ct_scatter(const ct_tensor *a, int64_t dim, const ct_tensor *index, const ct_tensor *src, ct_tensor **out) {
  CT_GUARD("scatter", *out = wrap(T(a).scatter(dim, T(index), T(src))))
}
ct_error ct_masked_fill(const ct_tensor *a, const ct_tensor *mask, double value, ct_tensor **out) {
  CT_GUARD("masked_fill", *out = wrap(T(a).masked_fill(T(mask), value)))
}
ct_error ct_cat(const ct_tensor *const *ts, int n, int64_t dim, bool stack, ct_tensor **out) {
  CT_GUARD(stack ? "stack" : "cat", {
    std::vector<at::Tensor> v;
    v.reserve(n);
    for (int i = 0; i < n; ++i) v.push_back(ts[i]->t);
    *out = wrap(stack ? at::stack(v, dim) : at::cat(v, dim));
  })
}
ct_error ct_pad(const ct_tensor *a, const int64_t *pads, int n, int mode, double value, ct_tensor **out) {
  CT_GUARD("pad", {
    // The mode's name in the list is torch's name for it.
    const char *name = name_or(CT_ENUM_PAD, mode, nullptr);
    if (!name) throw unknown("pad mode", mode);
    c10::optional<double> v = mode == CT_PAD_CONSTANT ? c10::optional<double>(value) : c10::nullopt;
    *out = wrap(at::pad(T(a), ints(pads, n), name, v));
  })
}
ct_error ct_one_hot(const ct_tensor *a, int64_t classes, ct_tensor **out) {
  CT_GUARD("one_hot", *out = wrap(at::one_hot(T(a), classes)))
}

ct_error ct_bincount(const ct_tensor *a, int64_t minlength, ct_tensor **out) {
  CT_GUARD("bincount", *out = wrap(at::bincount(T(a), c10::nullopt, minlength)))
}

}  // extern "C"
