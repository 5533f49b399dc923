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
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ "$here/csrc/common.hpp" -nt "$obj" ] \
     || [ "$here/Sources/CTorch/ctorch.h" -nt "$obj" ] || [ "$0" -nt "$obj" ]; then
    "$cxx" "${flags[@]}" -c "$src" -o "$obj.tmp" && mv "$obj.tmp" "$obj" &
    pids+=($!)
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
"$cxx" -shared -o "$out_dir/libmagvit_ctorch.so.tmp" "${objs[@]}" "${libs[@]}"
mv "$out_dir/libmagvit_ctorch.so.tmp" "$out_dir/libmagvit_ctorch.so"
echo "build-shim: $out_dir/libmagvit_ctorch.so against torch in $torch_dir"
