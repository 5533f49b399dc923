// See gloo/algorithm.h: declarations only. ProcessGroupGloo.hpp's inline setTimeout names this
// member; the shim never calls it, so it is declared and never defined or emitted here.
#pragma once
#include <chrono>
namespace gloo {
class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);
};
}  // namespace gloo
