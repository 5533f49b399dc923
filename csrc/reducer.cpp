// Gradient all-reduce overlapped with the backward pass, as PyTorch's DistributedDataParallel does
// it (torch/csrc/distributed/c10d/reducer.cpp, Li et al., "PyTorch Distributed", VLDB 2020): a post
// hook on each parameter's gradient accumulator marks its gradient ready; parameters sit in buckets
// in reverse registration order (about the order backward produces their gradients); a bucket whose
// gradients are all ready is flattened and its all-reduce started at once, while backward goes on.
// Buckets start strictly in order, so every rank issues the same collectives in the same order.
// finish() starts what is left (parameters backward did not reach, or a backward that was not
// armed), waits for every bucket, and writes the means back into the gradients.
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/variable.h>

#include <mutex>

#include "dist.hpp"

namespace {

using torch::autograd::variable_list;

// The first failure of a hook, kept until finish(): an exception must not leave a hook (it would
// unwind through the autograd engine into whatever called backward).
std::string describe(std::exception_ptr failure) {
  try {
    std::rethrow_exception(failure);
  } catch (const c10::Error &e) {
    return e.what_without_backtrace();
  } catch (const std::exception &e) {
    return e.what();
  } catch (...) {
    return "unknown C++ exception";
  }
}

}  // namespace

struct ct_grad_reducer {
  struct Bucket {
    std::vector<size_t> members;  // parameter indices, in the order backward tends to reach them
    size_t pending = 0;           // members whose gradient is not ready yet in the armed backward
    std::vector<size_t> reduced;  // the members whose gradients are in `flat`, in order
    at::Tensor flat;              // their gradients, flattened, while the all-reduce runs
    c10::intrusive_ptr<c10d::Work> work;
    bool early = false;           // started from a hook, during backward
  };

  ct_process_group group;  // a copy of the handles: Gloo, and NCCL for CUDA buckets where there is one
  int world = 1;
  std::vector<at::Tensor> params;
  // Held so that the accumulators carrying our hooks are the ones backward uses: a parameter keeps
  // only a weak reference to its accumulator (DDP holds them for the same reason).
  std::vector<c10::intrusive_ptr<torch::autograd::Node>> accumulators;
  std::vector<uintptr_t> hooks;
  std::vector<Bucket> buckets;
  std::vector<size_t> bucket_of;
  std::vector<char> ready;
  size_t next = 0;  // the first bucket not started
  bool armed = false;
  std::string failure;
  std::mutex mutex;

  // Starts bucket k's all-reduce on the gradients its members have (all of them in an armed
  // backward; in finish, those that exist: every rank runs the same code, so the same ones).
  void start(size_t k, bool early) {
    at::NoGradGuard no_grad;
    auto &b = buckets[k];
    b.reduced.clear();
    std::vector<at::Tensor> grads;
    for (size_t m : b.members) {
      const auto &g = params[m].grad();
      if (!g.defined()) continue;
      b.reduced.push_back(m);
      grads.push_back(g.detach().reshape({-1}));
    }
    if (grads.empty()) return;
    b.flat = at::cat(grads);  // one dtype and device: buckets split where they change
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp(c10d::ReduceOp::SUM);
    options.timeout = group.timeout;
    std::vector<at::Tensor> one{b.flat};
    b.work = group.for_device(b.flat.device())->allreduce(one, options);
    b.early = early;
  }

  // Parameter i's gradient is accumulated (called by the autograd engine, on its thread).
  void mark_ready(size_t i) noexcept {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed || !failure.empty()) return;
    try {
      if (ready[i]) {
        throw std::runtime_error("the gradient of parameter " + std::to_string(i) +
                                 " was accumulated twice after arm(): arm before the last backward that reaches these parameters");
      }
      ready[i] = 1;
      if (--buckets[bucket_of[i]].pending == 0) {
        while (next < buckets.size() && buckets[next].pending == 0) start(next++, true);
      }
    } catch (...) {
      failure = describe(std::current_exception());
    }
  }

  void reset() {
    for (auto &b : buckets) {
      b.pending = b.members.size();
      b.reduced.clear();
      b.flat = at::Tensor();
      b.work.reset();
      b.early = false;
    }
    std::fill(ready.begin(), ready.end(), 0);
    next = 0;
    armed = false;
    failure.clear();
  }
};

namespace {

struct ReadyHook final : torch::autograd::FunctionPostHook {
  ReadyHook(ct_grad_reducer *reducer, size_t index) : reducer(reducer), index(index) {}
  variable_list operator()(const variable_list &outputs, const variable_list & /*inputs*/) override {
    reducer->mark_ready(index);
    return outputs;
  }
  ct_grad_reducer *reducer;
  size_t index;
};

}  // namespace

extern "C" {

ct_error ct_reducer_new(ct_process_group *group, ct_tensor *const *params, int n, int64_t bucket_elements,
                        ct_grad_reducer **out) {
  CT_GUARD("reducer_new", {
    if (n < 1) throw std::invalid_argument("a reducer needs at least one parameter");
    if (bucket_elements < 1) throw std::invalid_argument("bucket_elements must be positive");
    auto r = std::make_unique<ct_grad_reducer>();
    r->group = *group;
    r->world = group->backend->getSize();
    for (int i = 0; i < n; ++i) {
      const auto &p = params[i]->t;
      if (!p.requires_grad() || !p.is_leaf()) {
        throw std::invalid_argument("parameter " + std::to_string(i) + " is not a leaf that requires grad");
      }
      r->params.push_back(p);
    }
    // Reverse order, a new bucket where the element cap is reached or dtype or device changes. The
    // first bucket is capped at 2^18 elements (1 MiB of float32), as DDP caps its first at 1 MB: the
    // gradients backward produces first start their all-reduce early even where the whole model
    // would fit one bucket.
    r->bucket_of.assign(r->params.size(), 0);
    int64_t size = 0;
    for (size_t i = r->params.size(); i-- > 0;) {
      const auto &p = r->params[i];
      bool fresh = r->buckets.empty();
      if (!fresh) {
        const auto &first = r->params[r->buckets.back().members.front()];
        int64_t cap = r->buckets.size() == 1 ? std::min<int64_t>(bucket_elements, 1 << 18) : bucket_elements;
        fresh = size + p.numel() > cap || first.scalar_type() != p.scalar_type() || first.device() != p.device();
      }
      if (fresh) {
        r->buckets.emplace_back();
        size = 0;
      }
      r->buckets.back().members.push_back(i);
      r->bucket_of[i] = r->buckets.size() - 1;
      size += p.numel();
    }
    r->ready.assign(r->params.size(), 0);
    r->reset();
    for (size_t i = 0; i < r->params.size(); ++i) {
      auto accumulator = torch::autograd::impl::grad_accumulator(r->params[i]);
      if (!accumulator) throw std::runtime_error("parameter " + std::to_string(i) + " has no gradient accumulator");
      r->hooks.push_back(accumulator->add_post_hook(std::make_unique<ReadyHook>(r.get(), i)));
      r->accumulators.push_back(std::move(accumulator));
    }
    *out = r.release();
  })
}

void ct_reducer_free(ct_grad_reducer *r) {
  if (!r) return;
  for (size_t i = 0; i < r->accumulators.size(); ++i) r->accumulators[i]->del_post_hook(r->hooks[i]);
  delete r;
}

int ct_reducer_buckets(const ct_grad_reducer *r) { return static_cast<int>(r->buckets.size()); }

ct_error ct_reducer_arm(ct_grad_reducer *r) {
  CT_GUARD("reducer_arm", {
    std::lock_guard<std::mutex> lock(r->mutex);
    if (r->armed) throw std::logic_error("the reducer is armed already: finish() the previous backward first");
    r->reset();
    r->armed = true;
  })
}

ct_error ct_reducer_finish(ct_grad_reducer *r, int *early) {
  CT_GUARD("reduce_gradients", {
    std::lock_guard<std::mutex> lock(r->mutex);
    std::string failure = r->failure;
    int started_early = 0;
    try {
      if (failure.empty()) {
        for (; r->next < r->buckets.size(); ++r->next) r->start(r->next, false);
      }
    } catch (...) {
      failure = describe(std::current_exception());
    }
    // Every started all-reduce is waited for, failed or not, so none still writes into a buffer.
    for (auto &b : r->buckets) {
      if (!b.work) continue;
      try {
        if (!b.work->wait(r->group.timeout)) throw std::runtime_error("the all-reduce did not complete");
      } catch (...) {
        if (failure.empty()) failure = describe(std::current_exception());
      }
      started_early += b.early;
    }
    try {
      if (failure.empty()) {
        at::NoGradGuard no_grad;
        for (auto &b : r->buckets) {
          if (!b.work) continue;
          b.flat.div_(r->world);
          int64_t offset = 0;
          for (size_t m : b.reduced) {
            auto &g = r->params[m].mutable_grad();
            g.copy_(b.flat.narrow(0, offset, g.numel()).view(g.sizes()));
            offset += g.numel();
          }
        }
      }
    } catch (...) {
      failure = describe(std::current_exception());
    }
    r->reset();
    if (!failure.empty()) throw std::runtime_error(failure);
    if (early) *early = started_early;
  })
}

}  // extern "C"
