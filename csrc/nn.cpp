// Network operations for the C shim: matmul, convolutions, pooling, resampling,
// normalisation, embedding, dropout, attention and losses.
#include "common.hpp"

#include <ATen/Context.h>
#include <ATen/ops/mkldnn_convolution.h>

#include <atomic>

using namespace ctorch;

extern "C" {

ct_error ct_matmul(const ct_tensor *a, const ct_tensor *b, ct_tensor **out) {
  CT_GUARD("matmul", *out = wrap(at::matmul(T(a), T(b))))
}

ct_error ct_eigh(const ct_tensor *a, ct_tensor **values, ct_tensor **vectors) {
  CT_GUARD("eigh", {
    auto [w, v] = at::linalg_eigh(T(a));
    *values = wrap(w);
    *vectors = wrap(v);
  })
}

ct_error ct_linear(const ct_tensor *x, const ct_tensor *w, const ct_tensor *b, ct_tensor **out) {
  CT_GUARD("linear", *out = wrap(at::linear(T(x), T(w), opt(b))))
}

}  // extern "C"

namespace {

// libtorch sends a CPU conv3d to its native im2col kernel instead of oneDNN when the batch is 1, the
// kernel at most 3 and N*C*T*H at most 20480 ("for some case, native is faster"); on the small
// latents of a tokenizer oneDNN is 3x faster there (docs/speed.md). With this on, those float32 CPU
// calls go to oneDNN too, as every other conv3d (and every one of a batch above 1) does anyway.
std::atomic<bool> direct_onednn_conv3d{true};

bool use_onednn_conv3d(const at::Tensor &x, const at::Tensor &w, int64_t groups) {
  return direct_onednn_conv3d.load(std::memory_order_relaxed) && x.device().is_cpu() && x.scalar_type() == at::kFloat &&
         w.scalar_type() == at::kFloat && !x.is_mkldnn() && at::hasMKLDNN() && at::globalContext().userEnabledMkldnn() &&
         groups == 1 && x.dim() == 5 && x.size(0) == 1 && !(w.size(-1) > 3 && w.size(-2) > 3) &&
         x.size(1) * x.size(2) * x.size(3) <= 20480;  // exactly where libtorch would pick its native kernel
}

}  // namespace

extern "C" {

void ct_set_direct_onednn_conv3d(bool on) { direct_onednn_conv3d.store(on); }
bool ct_direct_onednn_conv3d(void) { return direct_onednn_conv3d.load(); }

ct_error ct_conv(const ct_tensor *x, const ct_tensor *w, const ct_tensor *b, int n, const int64_t *stride,
                 const int64_t *padding, const int64_t *dilation, int64_t groups, ct_tensor **out) {
  CT_GUARD(n == 1 ? "conv1d" : n == 2 ? "conv2d" : "conv3d", {
    if (n < 1 || n > 3) throw std::invalid_argument("convolution needs 1 to 3 spatial dims");
    if (T(x).dim() != n + 2)
      throw std::invalid_argument("expected a " + std::to_string(n + 2) + "-d input (N, C, spatial...), got " +
                                  std::to_string(T(x).dim()) + "-d " + c10::str(T(x).sizes()));
    auto s = ints(stride, n), p = ints(padding, n), d = ints(dilation, n);
    switch (n) {
      case 1: *out = wrap(at::conv1d(T(x), T(w), opt(b), s, p, d, groups)); break;
      case 2: *out = wrap(at::conv2d(T(x), T(w), opt(b), s, p, d, groups)); break;
      default:
        *out = wrap(use_onednn_conv3d(T(x), T(w), groups) ? at::mkldnn_convolution(T(x), T(w), opt(b), p, s, d, groups)
                                                           : at::conv3d(T(x), T(w), opt(b), s, p, d, groups));
        break;
    }
  })
}

ct_error ct_conv_transpose(const ct_tensor *x, const ct_tensor *w, const ct_tensor *b, int n, const int64_t *stride,
                           const int64_t *padding, const int64_t *output_padding, const int64_t *dilation,
                           int64_t groups, ct_tensor **out) {
  CT_GUARD(n == 1 ? "conv_transpose1d" : n == 2 ? "conv_transpose2d" : "conv_transpose3d", {
    if (n < 1 || n > 3) throw std::invalid_argument("transposed convolution needs 1 to 3 spatial dims");
    auto s = ints(stride, n), p = ints(padding, n), o = ints(output_padding, n), d = ints(dilation, n);
    switch (n) {
      case 1: *out = wrap(at::conv_transpose1d(T(x), T(w), opt(b), s, p, o, groups, d)); break;
      case 2: *out = wrap(at::conv_transpose2d(T(x), T(w), opt(b), s, p, o, groups, d)); break;
      default: *out = wrap(at::conv_transpose3d(T(x), T(w), opt(b), s, p, o, groups, d)); break;
    }
  })
}

ct_error ct_pool(const ct_tensor *x, bool max, int n, const int64_t *kernel, const int64_t *stride,
                 const int64_t *padding, ct_tensor **out) {
  CT_GUARD(max ? "max_pool" : "avg_pool", {
    auto k = ints(kernel, n), s = ints(stride, n), p = ints(padding, n);
    std::vector<int64_t> one(n, 1);
    switch (n) {
      case 1: *out = wrap(max ? at::max_pool1d(T(x), k, s, p) : at::avg_pool1d(T(x), k, s, p)); break;
      case 2: *out = wrap(max ? at::max_pool2d(T(x), k, s, p) : at::avg_pool2d(T(x), k, s, p)); break;
      case 3: *out = wrap(max ? at::max_pool3d(T(x), k, s, p) : at::avg_pool3d(T(x), k, s, p)); break;
      default: throw std::invalid_argument("pooling needs 1 to 3 spatial dims");
    }
  })
}

ct_error ct_grid_sample(const ct_tensor *x, const ct_tensor *grid, int mode, int padding, bool align_corners,
                        ct_tensor **out) {
  CT_GUARD("grid_sample", {
    if (T(x).dim() != 4 || T(grid).dim() != 4 || T(grid).size(3) != 2 || T(grid).size(0) != T(x).size(0))
      throw std::invalid_argument("grid sampling needs input (N, C, H, W) and grid (N, H', W', 2)");
    if (padding < 0 || padding > 2) throw std::invalid_argument("padding mode must be 0 (zeros), 1 (border) or 2 (reflection)");
    int interpolation = static_cast<ct_interp_mode>(mode) == CT_NEAREST ? 1 : 0;
    *out = wrap(at::grid_sampler_2d(T(x), T(grid), interpolation, padding, align_corners));
  })
}

ct_error ct_interpolate(const ct_tensor *x, int mode, int n, const int64_t *size, bool align_corners,
                        ct_tensor **out) {
  CT_GUARD("interpolate", {
    auto s = ints(size, n);
    if (n < 1 || n > 3) throw std::invalid_argument("interpolation needs 1 to 3 spatial dims");
    if (T(x).dim() != n + 2) throw std::invalid_argument("input must have " + std::to_string(n + 2) + " dims");
    switch (static_cast<ct_interp_mode>(mode)) {
      case CT_NEAREST:
        *out = wrap(n == 1 ? at::upsample_nearest1d(T(x), s)
                    : n == 2 ? at::upsample_nearest2d(T(x), s)
                             : at::upsample_nearest3d(T(x), s));
        return nullptr;
      case CT_LINEAR:
        *out = wrap(n == 1 ? at::upsample_linear1d(T(x), s, align_corners)
                    : n == 2 ? at::upsample_bilinear2d(T(x), s, align_corners)
                             : at::upsample_trilinear3d(T(x), s, align_corners));
        return nullptr;
    }
    throw unknown("interpolation mode", mode);
  })
}

ct_error ct_group_norm(const ct_tensor *x, int64_t groups, const ct_tensor *w, const ct_tensor *b, double eps,
                       ct_tensor **out) {
  CT_GUARD("group_norm", *out = wrap(at::group_norm(T(x), groups, opt(w), opt(b), eps)))
}

ct_error ct_layer_norm(const ct_tensor *x, const int64_t *shape, int n, const ct_tensor *w, const ct_tensor *b,
                       double eps, ct_tensor **out) {
  CT_GUARD("layer_norm", *out = wrap(at::layer_norm(T(x), ints(shape, n), opt(w), opt(b), eps)))
}

ct_error ct_embedding(const ct_tensor *weight, const ct_tensor *indices, ct_tensor **out) {
  CT_GUARD("embedding", *out = wrap(at::embedding(T(weight), T(indices))))
}

ct_error ct_dropout(const ct_tensor *x, double p, bool train, ct_tensor **out) {
  CT_GUARD("dropout", *out = wrap(at::dropout(T(x), p, train)))
}

ct_error ct_attention(const ct_tensor *q, const ct_tensor *k, const ct_tensor *v, const ct_tensor *mask,
                      double dropout, bool causal, double scale, ct_tensor **out) {
  CT_GUARD("scaled_dot_product_attention", {
    c10::optional<double> s = scale > 0 ? c10::optional<double>(scale) : c10::nullopt;
    *out = wrap(at::scaled_dot_product_attention(T(q), T(k), T(v), opt(mask), dropout, causal, s));
  })
}

// ct_reduction's values are passed to ATen as they are.
static_assert(CT_REDUCE_NONE == static_cast<int>(at::Reduction::None) &&
              CT_REDUCE_MEAN == static_cast<int>(at::Reduction::Mean) &&
              CT_REDUCE_SUM == static_cast<int>(at::Reduction::Sum));

ct_error ct_loss(int op, const ct_tensor *input, const ct_tensor *target, int reduction, double label_smoothing,
                 ct_tensor **out) {
  CT_GUARD(name_or(CT_ENUM_LOSS, op, "loss"), {
    if (!name_or(CT_ENUM_REDUCTION, reduction, nullptr)) throw unknown("reduction", reduction);
    switch (static_cast<ct_loss_op>(op)) {
      case CT_MSE: *out = wrap(at::mse_loss(T(input), T(target), reduction)); return nullptr;
      case CT_L1: *out = wrap(at::l1_loss(T(input), T(target), reduction)); return nullptr;
      case CT_CROSS_ENTROPY:
        *out = wrap(at::cross_entropy_loss(T(input), T(target), c10::nullopt, reduction, -100, label_smoothing));
        return nullptr;
      case CT_BCE_LOGITS:
        *out = wrap(at::binary_cross_entropy_with_logits(T(input), T(target), c10::nullopt, c10::nullopt, reduction));
        return nullptr;
    }
    throw unknown("loss", op);
  })
}

}  // extern "C"
