// Declarations the shim needs from Gloo, which the PyPI torch wheel links but ships no headers of.
// ProcessGroupGloo.hpp names Gloo's types only behind pointers, so declaring them is enough to
// construct the process group that libtorch_cpu implements; nothing of Gloo is defined here.
#pragma once
