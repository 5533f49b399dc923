// Data-parallel communication through libtorch's own c10d: a TCPStore for the rendezvous, a Gloo
// process group (the backend torch.distributed uses for CPU tensors) for the collectives, and with
// backend nccl, c10d's NCCL process group for CUDA tensors, which lives in libmagvit_nccl.so
// (csrc/nccl) beside this library and is loaded only then. The wheel's libtorch_cpu is built with
// Gloo; its header hides the class unless told so.
#define USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

#include "dist.hpp"

namespace {

std::vector<at::Tensor> tensors(ct_tensor *const *handles, int n) {
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(handles[i]->t);
  return out;
}

// Waits for a collective; a peer that died or stopped answering ends the wait with an exception.
void finish(const c10::intrusive_ptr<c10d::Work> &work, std::chrono::milliseconds timeout) {
  if (!work->wait(timeout)) throw std::runtime_error("the collective did not complete");
}

// Every rank says its world size in the store and compares it with the others' before Gloo connects:
// ranks started with different WORLD_SIZE values would otherwise wait in Gloo's full-mesh connect for
// peers that never come, for several times the timeout. Rank 0 checks every rank, the others rank 0.
void agree_on_world_size(c10d::Store &store, int rank, int world) {
  auto key = [](int r) { return "magvit/world_size/" + std::to_string(r); };
  auto said = std::to_string(world);
  store.set(key(rank), std::vector<uint8_t>(said.begin(), said.end()));
  auto check = [&](int other) {
    auto value = store.get(key(other));
    std::string theirs(value.begin(), value.end());
    if (theirs != said) {
      throw std::invalid_argument("rank " + std::to_string(other) + " was started with world size " + theirs + " and rank " +
                                  std::to_string(rank) + " with " + said +
                                  ": every rank must have the same WORLD_SIZE (or --nproc-per-node x --nnodes)");
    }
  };
  if (rank == 0) {
    for (int other = 1; other < world; ++other) check(other);
  } else {
    check(0);
  }
}

// csrc/nccl/nccl_backend.cpp's entry point.
using NcclFactory = const char *(*)(const c10::intrusive_ptr<c10d::Store> &, int, int, std::chrono::milliseconds, int,
                                    c10::intrusive_ptr<c10d::Backend> &);

// Loads libmagvit_nccl.so from this library's folder (once) and returns its factory, or throws why
// NCCL cannot be used in this process.
NcclFactory nccl_factory() {
  if (ct_cuda_device_count() == 0) {
    throw std::invalid_argument(std::string("NCCL needs a CUDA GPU, and this process has none (") +
                                (ct_cuda_version() ? "no GPU found" : "this shim is a CPU build") + ")");
  }
  static NcclFactory factory = nullptr;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info self{};
    std::string path = "libmagvit_nccl.so";
    if (dladdr(reinterpret_cast<void *>(&ct_dist_init), &self) && self.dli_fname) {
      std::string here(self.dli_fname);
      path = here.substr(0, here.rfind('/') + 1) + path;
    }
    void *library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library) {
      failure = std::string("this build has no NCCL backend: ") + dlerror() +
                " (scripts/build-shim.sh builds libmagvit_nccl.so beside the shim where libtorch_cuda.so and NCCL's nccl.h are"
                " found)";
      return;
    }
    factory = reinterpret_cast<NcclFactory>(dlsym(library, "magvit_nccl_backend"));
    if (!factory) failure = path + " has no magvit_nccl_backend: rebuild it with scripts/build-shim.sh";
  });
  if (!factory) throw std::runtime_error(failure);
  return factory;
}

}  // namespace

extern "C" {

ct_error ct_dist_nccl_available(void) {
  CT_GUARD("nccl", nccl_factory())
}

ct_error ct_dist_init(const char *host, int port, int rank, int world, int64_t timeout_ms, int backend, int device,
                      ct_process_group **out) {
  CT_GUARD("dist_init", {
    if (world < 1 || rank < 0 || rank >= world) throw std::invalid_argument("rank must be in [0, world size)");
    if (backend != 0 && backend != 1) throw ctorch::unknown("process group backend", backend);
    // Before the rendezvous: a rank that cannot use NCCL says so at once, not at the first collective.
    NcclFactory nccl = backend == 1 ? nccl_factory() : nullptr;
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(port);
    options.isServer = rank == 0;
    options.numWorkers = world;
    options.waitWorkers = true;
    options.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(std::string(host), options);
    agree_on_world_size(*store, rank, world);
    auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
    // The interface to talk on: GLOO_SOCKET_IFNAME as in torch.distributed, else loopback for a
    // local rendezvous, else the address this host's name resolves to.
    const char *interface = std::getenv("GLOO_SOCKET_IFNAME");
    std::string address(host);
    if (interface && *interface) {
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface, false));
    } else if (address == "127.0.0.1" || address == "localhost" || address == "::1") {
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1", false));
    } else {
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice(false));
    }
    gloo->threads = 2;
    auto group = std::make_unique<ct_process_group>();
    group->store = store;
    group->timeout = timeout;
    group->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, gloo);
    if (nccl) {
      if (const char *failure = nccl(store, rank, world, timeout, device, group->cuda_backend)) {
        throw std::runtime_error(std::string("NCCL: ") + failure);
      }
    }
    *out = group.release();
  })
}

void ct_dist_free(ct_process_group *group) { delete group; }

ct_error ct_dist_all_reduce(ct_process_group *group, ct_tensor *const *handles, int n, int op) {
  CT_GUARD("all_reduce", {
    auto list = tensors(handles, n);
    c10d::AllreduceOptions options;
    switch (op) {
      case 0: options.reduceOp = c10d::ReduceOp(c10d::ReduceOp::SUM); break;
      case 1: options.reduceOp = c10d::ReduceOp(c10d::ReduceOp::MAX); break;
      case 2: options.reduceOp = c10d::ReduceOp(c10d::ReduceOp::MIN); break;
      default: throw ctorch::unknown("reduce op", op);
    }
    options.timeout = group->timeout;
    // Gloo reduces a list of tensors into one: each tensor is its own collective here.
    for (auto &t : list) {
      std::vector<at::Tensor> one{t};
      finish(group->for_device(t.device())->allreduce(one, options), group->timeout);
    }
  })
}

ct_error ct_dist_broadcast(ct_process_group *group, ct_tensor *const *handles, int n, int root) {
  CT_GUARD("broadcast", {
    auto list = tensors(handles, n);
    c10d::BroadcastOptions options;
    options.rootRank = root;
    options.timeout = group->timeout;
    for (auto &t : list) {
      std::vector<at::Tensor> one{t};
      finish(group->for_device(t.device())->broadcast(one, options), group->timeout);
    }
  })
}

ct_error ct_dist_barrier(ct_process_group *group) {
  CT_GUARD("barrier", {
    c10d::BarrierOptions options;
    options.timeout = group->timeout;
    finish(group->backend->barrier(options), group->timeout);
  })
}

}  // extern "C"
