#!/usr/bin/env bash
# Builds libmagvit_ctorch.so, the C shim over ATen, against a PyTorch installation.
#
#   scripts/build-shim.sh TORCH_DIR OUT_DIR
#
# TORCH_DIR is the `torch` package folder (the one holding include/ and lib/), e.g.
# .deps/python/torch here, or $(python -c 'import torch,os;print(os.path.dirname(torch.__file__))')
# on a GPU machine. The Swift code links only the C interface (Sources/CTorch/ctorch.h), so a
# binary built here runs against a shim built elsewhere: put OUT_DIR first on LD_LIBRARY_PATH.
# When TORCH_DIR has libtorch_cuda.so and a CUDA toolkit is found, the shim links the CUDA backend.
set -euo pipefail
torch_dir=$(cd "${1:?usage: build-shim.sh TORCH_DIR OUT_DIR}" && pwd)
out_dir=${2:?usage: build-shim.sh TORCH_DIR OUT_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
[ -f "$torch_dir/include/ATen/ATen.h" ] || { echo "build-shim: no ATen headers under $torch_dir/include" >&2; exit 1; }
[ -f "$torch_dir/lib/libtorch_cpu.so" ] || { echo "build-shim: no libtorch_cpu.so under $torch_dir/lib" >&2; exit 1; }

cxx=${CXX:-c++}
# -Werror=switch: a dispatch switch that misses an enumerator of its list in ctorch.h is an error.
flags=(-std=c++20 -O2 -fPIC -D_GLIBCXX_USE_CXX11_ABI=1 -Wall -Werror=switch -Wno-unused-variable -Wno-maybe-uninitialized
       -I "$here/Sources/CTorch" -isystem "$torch_dir/include" -isystem "$here/csrc/gloo"
       -isystem "$torch_dir/include/torch/csrc/api/include")
libs=(-L "$torch_dir/lib" -Wl,-rpath,"$torch_dir/lib" -ltorch_cpu -lc10)
# csrc/gloo declares the few Gloo types ProcessGroupGloo.hpp names (the wheel ships no Gloo headers).
cuda_home=${CUDA_HOME:-/usr/local/cuda}
if [ -f "$torch_dir/lib/libtorch_cuda.so" ] && [ -f "$cuda_home/include/cuda_runtime_api.h" ] \
   && [ "${MAGVIT_CPU_ONLY:-0}" != 1 ]; then
  flags+=(-DMAGVIT_WITH_CUDA -isystem "$cuda_home/include")
  # --no-as-needed: nothing in the shim names a libtorch_cuda symbol, but loading it registers CUDA.
  libs+=(-Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed)
  echo "build-shim: with CUDA ($cuda_home)"
fi

# Objects built against another torch (path or version) are stale.
stamp="$torch_dir $(stat -c %s "$torch_dir/lib/libtorch_cpu.so") ${flags[*]}"
if [ "$(cat "$out_dir/.stamp" 2>/dev/null)" != "$stamp" ]; then rm -f "$out_dir"/*.o; fi
echo "$stamp" > "$out_dir/.stamp"

objs=()
pids=()
for src in "$here"/csrc/*.cpp; do
  obj="$out_dir/$(basename "${src%.cpp}").o"
  objs+=("$obj")
  # Rebuild an object only when its source or a header changed.
  stale=0
  for dep in "$src" "$here"/csrc/*.hpp "$here/Sources/CTorch/ctorch.h" "$0"; do [ "$dep" -nt "$obj" ] && stale=1; done
  if [ ! -f "$obj" ] || [ $stale = 1 ]; then
    "$cxx" "${flags[@]}" -c "$src" -o "$obj.tmp" && mv "$obj.tmp" "$obj" &
    pids+=($!)
  fi
done

# The NCCL backend (csrc/nccl) is a library of its own, libmagvit_nccl.so, that the shim loads only
# for an NCCL group: it links libtorch_cuda and NCCL. Built wherever the torch has libtorch_cuda.so
# and NCCL's header is found (NCCL_HOME, else PyPI's nvidia-nccl beside torch or in .deps/nccl from
# scripts/setup.sh), CPU machines included, so that it keeps compiling and linking. CUDA headers: the
# toolkit's, else the PyPI wheels' (cuda runtime, crt, cccl), else csrc/cuda-headers for the few
# library types ATen's CUDA headers name.
nccl_root=
for d in "${NCCL_HOME:-}" "$torch_dir/../nvidia/nccl" "$here/.deps/nccl/nvidia/nccl"; do
  if [ -n "$d" ] && [ -f "$d/include/nccl.h" ] && [ -f "$d/lib/libnccl.so.2" ]; then nccl_root=$(cd "$d" && pwd); break; fi
done
nccl_pid=
if [ -f "$torch_dir/lib/libtorch_cuda.so" ] && [ -n "$nccl_root" ] && [ "${MAGVIT_CPU_ONLY:-0}" != 1 ]; then
  nccl_flags=("${flags[@]}")
  for d in "$cuda_home/include" "$torch_dir/../nvidia/cu13/include" "$torch_dir/../nvidia/cu13/include/cccl" \
           "$nccl_root/../cu13/include" "$nccl_root/../cu13/include/cccl" "$nccl_root/include" "$here/csrc/cuda-headers"; do
    [ -d "$d" ] && nccl_flags+=(-isystem "$d")
  done
  nccl_obj="$out_dir/nccl_backend.o" nccl_src="$here/csrc/nccl/nccl_backend.cpp"
  stale=0
  for dep in "$nccl_src" "$here"/csrc/*.hpp "$0"; do [ "$dep" -nt "$nccl_obj" ] && stale=1; done
  if [ ! -f "$nccl_obj" ] || [ $stale = 1 ]; then
    "$cxx" "${nccl_flags[@]}" -c "$nccl_src" -o "$nccl_obj.tmp" && mv "$nccl_obj.tmp" "$nccl_obj" &
    nccl_pid=$!
  fi
fi
for p in "${pids[@]}"; do wait "$p"; done
"$cxx" -shared -o "$out_dir/libmagvit_ctorch.so.tmp" "${objs[@]}" "${libs[@]}"
mv "$out_dir/libmagvit_ctorch.so.tmp" "$out_dir/libmagvit_ctorch.so"
echo "build-shim: $out_dir/libmagvit_ctorch.so against torch in $torch_dir"
if [ -n "$nccl_root" ] && [ -n "${nccl_obj:-}" ]; then
  # --no-undefined: every symbol the backend uses must resolve in libtorch_cuda, c10_cuda or NCCL here.
  if { [ -z "$nccl_pid" ] || wait "$nccl_pid"; } && "$cxx" -shared -o "$out_dir/libmagvit_nccl.so.tmp" "$nccl_obj" -Wl,--no-undefined \
       -L "$torch_dir/lib" -L "$nccl_root/lib" -Wl,-rpath,"$torch_dir/lib:$nccl_root/lib" -ltorch_cuda -lc10_cuda -ltorch_cpu -lc10 -l:libnccl.so.2; then
    mv "$out_dir/libmagvit_nccl.so.tmp" "$out_dir/libmagvit_nccl.so"
    echo "build-shim: $out_dir/libmagvit_nccl.so with NCCL $(sed -n 's/^#define NCCL_\(MAJOR\|MINOR\|PATCH\) //p' "$nccl_root/include/nccl.h" | paste -sd.) from $nccl_root"
  else
    rm -f "$out_dir/libmagvit_nccl.so" "$nccl_obj"
    echo "build-shim: the NCCL backend did not build (above); the shim is built without it" >&2
    # Where setup installed NCCL (this machine, CI) it must build: that keeps it from rotting unseen.
    [ "${MAGVIT_REQUIRE_NCCL:-0}" != 1 ] || exit 1
  fi
else
  rm -f "$out_dir/libmagvit_nccl.so"
  echo "build-shim: no NCCL backend (needs libtorch_cuda.so in $torch_dir/lib and NCCL's include/nccl.h: NCCL_HOME or PyPI's nvidia-nccl)"
  if [ "${MAGVIT_REQUIRE_NCCL:-0}" = 1 ] && [ "${MAGVIT_CPU_ONLY:-0}" != 1 ]; then exit 1; fi
fi
