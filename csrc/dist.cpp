// Data-parallel communication through libtorch's own c10d: a TCPStore for the rendezvous and a
// Gloo process group (the backend torch.distributed uses for CPU tensors) for the collectives.
// The wheel's libtorch_cpu is built with Gloo; its header hides the class unless told so.
#define USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>

#include "common.hpp"

struct ct_process_group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  std::chrono::milliseconds timeout;
};

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

}  // namespace

extern "C" {

ct_error ct_dist_init(const char *host, int port, int rank, int world, int64_t timeout_ms, ct_process_group **out) {
  CT_GUARD("dist_init", {
    if (world < 1 || rank < 0 || rank >= world) throw std::invalid_argument("rank must be in [0, world size)");
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(port);
    options.isServer = rank == 0;
    options.numWorkers = world;
    options.waitWorkers = true;
    options.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(std::string(host), options);
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
    auto backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, gloo);
    *out = new ct_process_group{store, backend, timeout};
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
      finish(group->backend->allreduce(one, options), group->timeout);
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
      finish(group->backend->broadcast(one, options), group->timeout);
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
