// Stand-in for the CUDA toolkit's cusolver_common.h, which the PyPI wheels of torch, its CUDA runtime and NCCL
// do not ship: only the opaque types that ATen's CUDA headers (included by c10d's
// ProcessGroupNCCL.hpp) name, declared as the toolkit declares them. Used only where the real
// header is absent (scripts/build-shim.sh puts this folder last); nothing here is called.
#pragma once
typedef enum { CUSOLVER_STATUS_SUCCESS = 0 } cusolverStatus_t;
