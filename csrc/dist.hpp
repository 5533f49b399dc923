// The process group handle shared by csrc/dist.cpp (rendezvous, collectives) and csrc/reducer.cpp
// (gradient all-reduce overlapped with backward): a c10d store, the Gloo backend, and NCCL for CUDA
// tensors when the group was made with it (torch.distributed's "cpu:gloo,cuda:nccl").
#pragma once

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>

#include "common.hpp"

struct ct_process_group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;       // Gloo: CPU tensors, and CUDA ones without NCCL
  c10::intrusive_ptr<c10d::Backend> cuda_backend;  // NCCL, or null
  std::chrono::milliseconds timeout;

  // The backend that reduces tensors on `device`.
  const c10::intrusive_ptr<c10d::Backend> &for_device(const at::Device &device) const {
    return device.is_cuda() && cuda_backend ? cuda_backend : backend;
  }
};
