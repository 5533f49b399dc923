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
#include <iterator>

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

std::invalid_argument unknown(const char *what, int value) {
  return std::invalid_argument(std::string("unknown ") + what + " code " + std::to_string(value));
}

// One name table per enumeration, expanded from its list in ctorch.h, so entry i names value i.
#define CT_NAME_(id, name) name,
static const char *const dtype_names[] = {CT_DTYPES(CT_NAME_)};
static const char *const unary_names[] = {CT_UNARY_OPS(CT_NAME_)};
static const char *const binary_names[] = {CT_BINARY_OPS(CT_NAME_)};
static const char *const reduce_names[] = {CT_REDUCE_OPS(CT_NAME_)};
static const char *const loss_names[] = {CT_LOSS_OPS(CT_NAME_)};
static const char *const reduction_names[] = {CT_REDUCTIONS(CT_NAME_)};
static const char *const pad_names[] = {CT_PAD_MODES(CT_NAME_)};
static const char *const interp_names[] = {CT_INTERP_MODES(CT_NAME_)};
#undef CT_NAME_

static const char *enum_name(int enumeration, int value) {
  auto pick = [value](const auto &names) -> const char * {
    return value >= 0 && static_cast<size_t>(value) < std::size(names) ? names[value] : nullptr;
  };
  switch (static_cast<ct_enumeration>(enumeration)) {
    case CT_ENUM_DTYPE: return pick(dtype_names);
    case CT_ENUM_UNARY: return pick(unary_names);
    case CT_ENUM_BINARY: return pick(binary_names);
    case CT_ENUM_REDUCE: return pick(reduce_names);
    case CT_ENUM_LOSS: return pick(loss_names);
    case CT_ENUM_REDUCTION: return pick(reduction_names);
    case CT_ENUM_PAD: return pick(pad_names);
    case CT_ENUM_INTERP: return pick(interp_names);
  }
  return nullptr;
}

const char *name_or(int enumeration, int value, const char *fallback) {
  const char *name = enum_name(enumeration, value);
  return name ? name : fallback;
}

at::ScalarType to_scalar_type(int dtype) {
  switch (static_cast<ct_dtype_code>(dtype)) {
    case CT_FLOAT32: return at::kFloat;
    case CT_FLOAT64: return at::kDouble;
    case CT_BFLOAT16: return at::kBFloat16;
    case CT_FLOAT16: return at::kHalf;
    case CT_INT64: return at::kLong;
    case CT_INT32: return at::kInt;
    case CT_UINT8: return at::kByte;
    case CT_BOOL: return at::kBool;
  }
  throw unknown("dtype", dtype);
}

// The inverse of to_scalar_type, walking the same list.
int from_scalar_type(at::ScalarType s) {
#define CT_MATCH_(id, name) if (s == to_scalar_type(id)) return id;
  CT_DTYPES(CT_MATCH_)
#undef CT_MATCH_
  return -1;
}

static const char *cuda_version() {
  // "13.0" from CUDART's 13000; computed once, since the answer cannot change within a process.
  static const std::string version = []() -> std::string {
    if (!at::detail::getCUDAHooks().isBuilt()) return "";
    long v = at::detail::getCUDAHooks().versionCUDART();
    return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
  }();
  return version.empty() ? nullptr : version.c_str();
}

static int cuda_device_count() {
  try { return at::hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0; } catch (...) { return 0; }
}

at::DeviceType to_device_type(int kind) {
  switch (kind) {
    case CT_CPU: return at::kCPU;
    case CT_CUDA: return at::kCUDA;
  }
  throw unknown("device kind", kind);
}

at::Device to_device(int kind, int index) {
  if (to_device_type(kind) == at::kCPU) return at::Device(at::kCPU);
  int count = cuda_device_count();
  if (index >= 0 && index < count) return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
  // One line instead of the dispatcher's table of backends, which is what libtorch would say.
  const char *cuda = cuda_version();
  std::string build = cuda ? std::string("CUDA ") + cuda + " build" : "CPU build";
  std::string message = "cuda:" + std::to_string(index) + " requested, but this libtorch " + TORCH_VERSION + " (" +
                        build + ") found ";
  if (count == 0) throw std::invalid_argument(message + "no CUDA device; use --device cpu");
  if (count == 1) throw std::invalid_argument(message + "1 CUDA device (cuda:0)");
  throw std::invalid_argument(message + std::to_string(count) + " CUDA devices (cuda:0 to cuda:" +
                              std::to_string(count - 1) + ")");
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
bool ct_cuda_available(void) { return cuda_device_count() > 0; }
int ct_cuda_device_count(void) { return cuda_device_count(); }
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

const char *ct_cuda_version(void) {
  try { return cuda_version(); } catch (...) { return nullptr; }
}

ct_error ct_check_device(int kind, int index) { CT_GUARD("device", to_device(kind, index)) }

const char *ct_enum_name(int enumeration, int value) { return enum_name(enumeration, value); }

void ct_free(ct_tensor *t) { delete t; }
int64_t ct_dim(const ct_tensor *t) { return t->t.dim(); }
void ct_sizes(const ct_tensor *t, int64_t *sizes) {
  auto s = t->t.sizes();
  std::memcpy(sizes, s.data(), s.size() * sizeof(int64_t));
}
int ct_dtype(const ct_tensor *t) { return from_scalar_type(t->t.scalar_type()); }
const char *ct_scalar_type_name(const ct_tensor *t) { return c10::toString(t->t.scalar_type()); }
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
    auto kind = to_device_type(device);
    *was_on = at::autocast::is_autocast_enabled(kind);
    *was_dtype = from_scalar_type(at::autocast::get_autocast_dtype(kind));
    if (on) at::autocast::set_autocast_dtype(kind, to_scalar_type(dtype));
    at::autocast::set_autocast_enabled(kind, on);
    if (!on) at::autocast::clear_cache();
  })
}

}  // extern "C"
