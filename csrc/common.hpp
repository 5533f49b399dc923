// Internal helpers shared by the shim's translation units: handle conversion,
// dtype/device mapping and the exception barrier.
#pragma once

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <string>
#include <vector>

#include "ctorch.h"

struct ct_tensor {
  at::Tensor t;
};

namespace ctorch {

// The last error of this thread; ct_error pointers point into it.
std::string &error_slot();
at::ScalarType to_scalar_type(int dtype);
int from_scalar_type(at::ScalarType s);
// A device that tensors can be placed on (see ct_check_device), or an exception saying why not.
at::Device to_device(int kind, int index);
// The kind alone, unchecked (autocast state exists for a kind whether or not a device does).
at::DeviceType to_device_type(int kind);
// The name of `value` in `enumeration`, or `fallback` when it has none (an error is coming).
const char *name_or(int enumeration, int value, const char *fallback);
// "unknown <what> code N", for a value that no case of a dispatch switch took.
std::invalid_argument unknown(const char *what, int value);

inline const at::Tensor &T(const ct_tensor *h) { return h->t; }
inline c10::optional<at::Tensor> opt(const ct_tensor *h) {
  return h ? c10::optional<at::Tensor>(h->t) : c10::nullopt;
}
inline at::IntArrayRef ints(const int64_t *p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }
inline ct_tensor *wrap(at::Tensor t) { return new ct_tensor{std::move(t)}; }

ct_error fail(const char *op, const char *what);

}  // namespace ctorch

// Runs `body`, turning any exception into a returned error prefixed with `op`.
#define CT_GUARD(op, ...)                                            \
  try {                                                              \
    __VA_ARGS__;                                                          \
    return nullptr;                                                  \
  } catch (const c10::Error &e) {                                    \
    return ctorch::fail(op, e.what_without_backtrace());             \
  } catch (const std::exception &e) {                                \
    return ctorch::fail(op, e.what());                               \
  } catch (...) {                                                    \
    return ctorch::fail(op, "unknown C++ exception");                \
  }
