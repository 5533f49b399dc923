#!/usr/bin/env python3
"""Makes stand-ins for the CUDA libraries that PyPI's torch wheel links but a CPU machine lacks, so
that the wheel setup.sh unpacks into .deps/python imports in Python without the 3 GB of nvidia-* wheels.

    python3 scripts/cuda-stubs.py TORCH_DIR OUT_DIR

TORCH_DIR is the wheel's torch/ folder. The script follows the libraries torch._C loads, lists those
found nowhere (cuDNN, cuBLAS, cuFFT, cuSPARSE, NCCL, NVRTC, ...), and builds for each a small shared
library of that name defining what torch's libraries take from it (under the same symbol versions). No
CPU operation calls into them; any call prints which stub was reached and aborts. Loading OUT_DIR's
libraries (RTLD_GLOBAL) before `import torch` satisfies the loader; setup.sh does it from a .pth file
in .deps/torch-venv. Needs readelf and a C compiler.
"""
import collections
import glob
import os
import re
import subprocess
import sys


def run(*args):
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def needed(path):
    return re.findall(r"\(NEEDED\).*\[(.+)\]", run("readelf", "-dW", path))


def dynamic_symbols(path):
    """(type, binding, section, name, version) of each dynamic symbol."""
    for line in run("readelf", "--dyn-syms", "-W", path).splitlines():
        f = line.split()
        if len(f) >= 8 and f[0].endswith(":") and f[0][:-1].isdigit():
            name, _, version = f[7].partition("@")
            yield f[3], f[4], f[6], name, version.lstrip("@")


def main(torch_dir, out_dir):
    search = [os.path.join(torch_dir, "lib")] + glob.glob(os.path.join(torch_dir, "..", "nvidia", "*", "lib"))
    system = dict(re.findall(r"^\s*(\S+) \(libc6,x86-64[^)]*\) => (\S+)", run("ldconfig", "-p"), re.M))

    def find(name):
        for folder in search:
            if os.path.exists(os.path.join(folder, name)):
                return os.path.join(folder, name)
        return system.get(name)

    extension = glob.glob(os.path.join(torch_dir, "_C*.so"))
    if not extension:
        sys.exit(f"cuda-stubs: no torch/_C*.so under {torch_dir}")
    loaded, todo, missing = set(), [extension[0]], []
    while todo:
        path = todo.pop()
        if path in loaded:
            continue
        loaded.add(path)
        for name in needed(path):
            found = find(name)
            if found:
                todo.append(found)
            elif name not in missing:
                missing.append(name)

    # Which missing library each symbol version belongs to (readelf -V: "File: LIB" then its "Name: VERSION"s).
    version_library = {}
    for path in loaded:
        library = None
        for line in run("readelf", "-VW", path).splitlines():
            if m := re.search(r"File: (\S+)", line):
                library = m.group(1)
            elif (m := re.search(r"Name: (\S+)", line)) and library in missing:
                version_library[m.group(1)] = library
    defined = {s[3] for path in loaded for s in dynamic_symbols(path) if s[2] != "UND"}
    # Unversioned symbols (NCCL, cuFile, cuSPARSELt export none) go to a stub without versions.
    plain = sorted(set(missing) - set(version_library.values()))
    wanted = {library: {} for library in missing}
    for path in loaded:
        for kind, binding, section, name, version in dynamic_symbols(path):
            if section != "UND" or binding == "WEAK" or name in defined or name.startswith(("Py", "_Py")):
                continue  # defined, optional, or Python's own (the interpreter has them)
            if version and version not in version_library:
                continue  # a system library's version (glibc, libstdc++): found at run time
            if not version and not plain:
                sys.exit(f"cuda-stubs: no unversioned library to hold {name}")
            wanted[version_library.get(version) or plain[0]][name] = (kind, version)

    os.makedirs(out_dir, exist_ok=True)
    work = os.path.join(out_dir, ".src")
    os.makedirs(work, exist_ok=True)
    for library, symbols in sorted(wanted.items()):
        lines = ["#include <stdio.h>", "#include <stdlib.h>",
                 f'static void reached(const char *s) {{ fprintf(stderr, "{library} is a stub for CPU-only torch '
                 f'(scripts/cuda-stubs.py): %s was called\\n", s); abort(); }}']
        nodes = collections.defaultdict(list)
        for name, (kind, version) in sorted(symbols.items()):
            lines.append(f"char {name}[64];" if kind in ("OBJECT", "TLS") else f'void {name}(void) {{ reached("{name}"); }}')
            nodes[version].append(name)
        script = "".join(f"{v} {{ global: {' '.join(n + ';' for n in names)} }};\n" for v, names in nodes.items() if v)
        if nodes.get(""):
            script += "{ global: " + " ".join(n + ";" for n in nodes[""]) + " local: *; };\n"
        source, version_script = os.path.join(work, library + ".c"), os.path.join(work, library + ".map")
        with open(source, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(version_script, "w") as f:
            f.write(script or "{ local: *; };\n")
        compiler = os.environ.get("CC", "cc")
        subprocess.run([compiler, "-shared", "-fPIC", "-O0", "-o", os.path.join(out_dir, library), f"-Wl,-soname,{library}",
                        f"-Wl,--version-script,{version_script}", source], check=True)
        print(f"cuda-stubs: {library} ({len(symbols)} symbols)")
    for leftover in glob.glob(os.path.join(work, "*")):
        os.remove(leftover)
    os.rmdir(work)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
