// The op profiler for the C shim: libtorch's Kineto profiler (the engine of torch.profiler), its
// events written as a plain table for the Swift side to aggregate, and as a Chrome trace.
#include "common.hpp"

#include <torch/csrc/autograd/profiler_kineto.h>

#include <fstream>
#include <set>

namespace prof = torch::profiler::impl;

ct_error ct_profiler_start(bool cuda) {
  CT_GUARD("profiler_start", {
    std::set<prof::ActivityType> activities{prof::ActivityType::CPU};
    if (cuda) activities.insert(prof::ActivityType::CUDA);
    prof::ProfilerConfig config(prof::ProfilerState::KINETO);
    torch::autograd::profiler::prepareProfiler(config, activities);
    torch::autograd::profiler::enableProfiler(config, activities);
  })
}

ct_error ct_profiler_stop(const char *table_path, const char *trace_path) {
  CT_GUARD("profiler_stop", {
    auto result = torch::autograd::profiler::disableProfiler();
    std::ofstream table(table_path);
    if (!table) throw std::runtime_error(std::string("cannot write ") + table_path);
    for (const auto &e : result->events()) {
      bool device = e.deviceType() != c10::DeviceType::CPU;
      table << e.name() << '\t' << (device ? std::string("device") : std::to_string(e.startThreadId())) << '\t'
            << e.startNs() << '\t' << e.durationNs() << '\n';
    }
    if (!table.flush()) throw std::runtime_error(std::string("cannot write ") + table_path);
    if (trace_path && *trace_path) result->save(trace_path);
  })
}
