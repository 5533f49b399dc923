// See gloo/algorithm.h: declarations only.
#pragma once
namespace gloo::transport {
class Device;
class UnboundBuffer;
}
