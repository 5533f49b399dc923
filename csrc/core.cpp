// Library state, tensor lifetime, creation, transfer and autograd for the C shim.
#include "common.hpp"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/autograd.h>

#if __has_include(<torch/headeronly/version.h>)
#include <torch/headeronly/version.h>
#else
#include <torch/version.h>
#endif

#ifdef MAGVIT_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <cstring>

namespace ctorch {

std::string &error_slot() {
  static thread_local std::string slot;
  return slot;
}

ct_error fail(const char *op, const char *what) {
  std::string &s = error_slot();
  s = op;
  s += ": ";
  s += what;
  return s.c_str();
}

at::ScalarType to_scalar_type(int dtype) {
  switch (dtype) {
    case CT_FLOAT32: return at::kFloat;
    case CT_FLOAT64: return at::kDouble;
    case CT_BFLOAT16: return at::kBFloat16;
    case CT_FLOAT16: return at::kHalf;
    case CT_INT64: return at::kLong;
    case CT_INT32: return at::kInt;
    case CT_UINT8: return at::kByte;
    case CT_BOOL: return at::kBool;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(dtype));
}

int from_scalar_type(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return CT_FLOAT32;
    case at::kDouble: return CT_FLOAT64;
    case at::kBFloat16: return CT_BFLOAT16;
    case at::kHalf: return CT_FLOAT16;
    case at::kLong: return CT_INT64;
    case at::kInt: return CT_INT32;
    case at::kByte: return CT_UINT8;
    case at::kBool: return CT_BOOL;
    default: return -1;
  }
}

at::Device to_device(int kind, int index) {
  if (kind == CT_CPU) return at::Device(at::kCPU);
  if (kind == CT_CUDA) return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  throw std::invalid_argument("unknown device kind " + std::to_string(kind));
}

static at::TensorOptions options(int dtype, int device, int index) {
  return at::TensorOptions().dtype(to_scalar_type(dtype)).device(to_device(device, index));
}

}  // namespace ctorch

using namespace ctorch;

extern "C" {

const char *ct_version(void) { return TORCH_VERSION; }
void ct_manual_seed(uint64_t seed) { at::manual_seed(seed); }
void ct_set_num_threads(int n) { at::set_num_threads(n); }
int ct_get_num_threads(void) { return at::get_num_threads(); }
bool ct_cuda_available(void) {
  try { return at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0; } catch (...) { return false; }
}
int ct_cuda_device_count(void) {
  try { return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0; } catch (...) { return 0; }
}
ct_error ct_cuda_synchronize(void) {
  CT_GUARD("cuda_synchronize", {
    if (at::hasCUDA()) at::detail::getCUDAHooks().deviceSynchronize(-1);
  })
}
ct_error ct_cuda_memory(int index, int64_t *allocated, int64_t *peak, bool reset_peak) {
  CT_GUARD("cuda_memory", {
#ifdef MAGVIT_WITH_CUDA
    using namespace c10::cuda::CUDACachingAllocator;
    auto stats = getDeviceStats(static_cast<c10::DeviceIndex>(index));
    auto all = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    *allocated = stats.allocated_bytes[all].current;
    *peak = stats.allocated_bytes[all].peak;
    if (reset_peak) resetPeakStats(static_cast<c10::DeviceIndex>(index));
#else
    (void)index; (void)reset_peak;
    *allocated = 0;
    *peak = 0;
    throw std::runtime_error("this shim was built without CUDA");
#endif
  })
}

void ct_free(ct_tensor *t) { delete t; }
int64_t ct_dim(const ct_tensor *t) { return t->t.dim(); }
void ct_sizes(const ct_tensor *t, int64_t *sizes) {
  auto s = t->t.sizes();
  std::memcpy(sizes, s.data(), s.size() * sizeof(int64_t));
}
int ct_dtype(const ct_tensor *t) { return from_scalar_type(t->t.scalar_type()); }
void ct_device(const ct_tensor *t, int *kind, int *index) {
  auto d = t->t.device();
  *kind = d.is_cuda() ? CT_CUDA : CT_CPU;
  *index = d.has_index() ? d.index() : 0;
}
int64_t ct_numel(const ct_tensor *t) { return t->t.numel(); }
bool ct_requires_grad(const ct_tensor *t) { return t->t.requires_grad(); }
bool ct_is_defined(const ct_tensor *t) { return t->t.defined(); }

ct_error ct_from_data(const void *data, const int64_t *shape, int ndim, int dtype, ct_tensor **out) {
  CT_GUARD("from_data", {
    auto t = at::empty(ints(shape, ndim), at::TensorOptions().dtype(to_scalar_type(dtype)));
    if (t.numel() > 0) std::memcpy(t.data_ptr(), data, t.nbytes());
    *out = wrap(t);
  })
}

ct_error ct_copy_to_host(const ct_tensor *t, void *dst, size_t nbytes) {
  CT_GUARD("copy_to_host", {
    auto c = t->t.detach().to(at::kCPU).contiguous();
    if (c.nbytes() != nbytes)
      throw std::invalid_argument("buffer holds " + std::to_string(nbytes) + " bytes, tensor needs " +
                                  std::to_string(c.nbytes()));
    if (nbytes > 0) std::memcpy(dst, c.data_ptr(), nbytes);
  })
}

ct_error ct_full(const int64_t *shape, int ndim, double value, int dtype, int device, int index, ct_tensor **out) {
  CT_GUARD("full", *out = wrap(at::full(ints(shape, ndim), value, options(dtype, device, index))))
}

ct_error ct_arange(double start, double end, double step, int dtype, int device, int index, ct_tensor **out) {
  CT_GUARD("arange", *out = wrap(at::arange(start, end, step, options(dtype, device, index))))
}

ct_error ct_random(int kind, const int64_t *shape, int ndim, int dtype, int device, int index, ct_tensor **out) {
  CT_GUARD("random", {
    auto o = options(dtype, device, index);
    *out = wrap(kind == 0 ? at::rand(ints(shape, ndim), o) : at::randn(ints(shape, ndim), o));
  })
}

ct_error ct_randint(int64_t low, int64_t high, const int64_t *shape, int ndim, int device, int index,
                    ct_tensor **out) {
  CT_GUARD("randint", *out = wrap(at::randint(low, high, ints(shape, ndim), options(CT_INT64, device, index))))
}

ct_error ct_to(const ct_tensor *t, int dtype, int device, int index, ct_tensor **out) {
  CT_GUARD("to", *out = wrap(t->t.to(to_device(device, index), to_scalar_type(dtype))))
}

ct_error ct_item(const ct_tensor *t, double *out) {
  CT_GUARD("item", *out = t->t.item().toDouble())
}

ct_error ct_clone(const ct_tensor *t, ct_tensor **out) { CT_GUARD("clone", *out = wrap(t->t.clone())) }
ct_error ct_alias(const ct_tensor *t, ct_tensor **out) { CT_GUARD("alias", *out = wrap(t->t)) }
ct_error ct_detach(const ct_tensor *t, ct_tensor **out) { CT_GUARD("detach", *out = wrap(t->t.detach())) }
ct_error ct_contiguous(const ct_tensor *t, ct_tensor **out) {
  CT_GUARD("contiguous", *out = wrap(t->t.contiguous()))
}

ct_error ct_set_requires_grad(ct_tensor *t, bool on) {
  CT_GUARD("requires_grad", t->t.set_requires_grad(on))
}

ct_error ct_grad(const ct_tensor *t, ct_tensor **out) {
  CT_GUARD("grad", {
    const at::Tensor &g = t->t.grad();
    *out = g.defined() ? wrap(g) : nullptr;
  })
}

ct_error ct_clear_grad(ct_tensor *t) {
  CT_GUARD("clear_grad", t->t.mutable_grad() = at::Tensor())
}

ct_error ct_backward(const ct_tensor *t, const ct_tensor *grad, bool retain_graph, bool create_graph) {
  CT_GUARD("backward", {
    at::Tensor g = grad ? grad->t : at::Tensor();
    t->t.backward(g, retain_graph, create_graph);
  })
}

ct_error ct_autograd_grad(const ct_tensor *const *outputs, const ct_tensor *const *grad_outputs, int n_out,
                          const ct_tensor *const *inputs, int n_in, bool create_graph, ct_tensor **grads) {
  CT_GUARD("autograd_grad", {
    std::vector<at::Tensor> outs, gouts, ins;
    for (int i = 0; i < n_out; ++i) {
      outs.push_back(outputs[i]->t);
      gouts.push_back(grad_outputs ? grad_outputs[i]->t : at::ones_like(outputs[i]->t));
    }
    for (int i = 0; i < n_in; ++i) ins.push_back(inputs[i]->t);
    auto result = torch::autograd::grad(outs, ins, gouts, create_graph, create_graph, /*allow_unused=*/true);
    for (int i = 0; i < n_in; ++i) grads[i] = result[i].defined() ? wrap(result[i]) : nullptr;
  })
}

bool ct_grad_enabled(void) { return c10::GradMode::is_enabled(); }
void ct_set_grad_enabled(bool on) { c10::GradMode::set_enabled(on); }

ct_error ct_set_autocast(int device, bool on, int dtype, bool *was_on, int *was_dtype) {
  CT_GUARD("autocast", {
    auto kind = to_device(device, 0).type();
    *was_on = at::autocast::is_autocast_enabled(kind);
    *was_dtype = from_scalar_type(at::autocast::get_autocast_dtype(kind));
    if (on) at::autocast::set_autocast_dtype(kind, to_scalar_type(dtype));
    at::autocast::set_autocast_enabled(kind, on);
    if (!on) at::autocast::clear_cache();
  })
}

}  // extern "C"
