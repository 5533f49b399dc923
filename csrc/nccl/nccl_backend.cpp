// c10d's NCCL process group (the backend torch.distributed uses for CUDA tensors), in a library of
// its own, libmagvit_nccl.so, which the shim loads (csrc/dist.cpp) only when a run asks for NCCL on
// a machine with CUDA: it links libtorch_cuda and libnccl, which a CPU machine need not have.
// Built by scripts/build-shim.sh against the torch wheel's c10d headers and PyPI's NCCL, on CPU
// machines too (so that it keeps compiling and linking), where csrc/cuda-headers stands in for the
// CUDA toolkit headers the wheels do not ship.
#define USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <string>

// The one entry point, looked up by name with dlsym: an NCCL group of `world` ranks on `store`
// for this rank's GPU `device`. Returns nullptr, or the failure's message (valid until the next
// call on this thread); no exception leaves it.
extern "C" const char *magvit_nccl_backend(const c10::intrusive_ptr<c10d::Store> &store, int rank, int world,
                                           std::chrono::milliseconds timeout, int device,
                                           c10::intrusive_ptr<c10d::Backend> &out) noexcept {
  static thread_local std::string failure;
  try {
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    // Its own keys in the store beside the Gloo group's.
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>("nccl", store);
    out = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, rank, world, options);
    return nullptr;
  } catch (const c10::Error &e) {
    failure = e.what_without_backtrace();
  } catch (const std::exception &e) {
    failure = e.what();
  } catch (...) {
    failure = "unknown C++ exception";
  }
  return failure.c_str();
}

// NCCL's version, to say which one a build links.
extern "C" int magvit_nccl_version() noexcept {
  int version = 0;
  return ncclGetVersion(&version) == ncclSuccess ? version : -1;
}
