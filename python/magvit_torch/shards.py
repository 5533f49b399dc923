"""Token datasets made by `magvit tokenize` (docs/datasets.md), read with safetensors and numpy only.

A dataset folder holds dataset.json (the index, written last) and shards tokens-NNNNN.safetensors, each
with `ids` int32 (N, t, h, w), `source`, `clip_index`, `start_frame`, `frames`, `label` int32 (N),
`fps` float64 (N) and the source paths as JSON in its metadata. Every shard's SHA-256 is checked
against the index before it is used.

    from magvit_torch.shards import read_dataset
    index, clips = read_dataset("data/tokens")
    for clip in clips:              # in dataset order
        clip["ids"]                 # int32 array (t, h, w) of token ids
        clip["source"], clip["clip_index"], clip["start_frame"], clip["frames"], clip["label"], clip["fps"]

`python -m magvit_torch.shards DATASET [--json]` (or scripts/read_tokens.py) prints a summary, or
every clip as a JSON list (ids flattened).
"""
import hashlib
import json
import pathlib
import sys

from safetensors import safe_open
from safetensors.numpy import load_file

FIELDS = ("source", "clip_index", "start_frame", "frames", "label", "fps")


class DatasetError(ValueError):
    """A folder that is not a finished Magvit token dataset, or a shard that fails its check."""


def read_index(folder):
    """dataset.json of a finished dataset as a dict."""
    folder = pathlib.Path(folder)
    path = folder / "dataset.json"
    if not path.is_file():
        raise DatasetError(f"{folder}: no dataset.json (not a token dataset, or an unfinished `magvit tokenize`)")
    index = json.loads(path.read_text())
    if index.get("format") != "magvit-token-dataset" or index.get("version") != 1:
        raise DatasetError(f"{folder}: not a version-1 magvit token dataset")
    return index


def read_shard(folder, shard, verify=True):
    """The tensors (numpy arrays) and source paths of one shard entry of the index."""
    path = pathlib.Path(folder) / shard["file"]
    if not path.is_file():
        raise DatasetError(f"{path}: missing shard")
    if verify and hashlib.sha256(path.read_bytes()).hexdigest() != shard["sha256"]:
        raise DatasetError(f"{path}: corrupt shard (SHA-256 differs from dataset.json)")
    with safe_open(str(path), framework="np") as f:
        sources = json.loads(f.metadata()["sources"])
    return load_file(str(path)), sources


def clip_record(tensors, sources, i):
    """Clip i of a shard as a dict: ids (int32 (t, h, w)) and the fields of FIELDS."""
    return {
        "ids": tensors["ids"][i],
        "source": sources[int(tensors["source"][i])],
        "clip_index": int(tensors["clip_index"][i]),
        "start_frame": int(tensors["start_frame"][i]),
        "frames": int(tensors["frames"][i]),
        "label": int(tensors["label"][i]),
        "fps": float(tensors["fps"][i]),
    }


def read_dataset(folder, verify=True):
    """The index (dataset.json as a dict) and a generator over the clips as dicts, in dataset order."""
    index = read_index(folder)

    def clips():
        for shard in index["shards"]:
            tensors, sources = read_shard(folder, shard, verify)
            for i in range(tensors["ids"].shape[0]):
                yield clip_record(tensors, sources, i)

    return index, clips()


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    try:
        index, clips = read_dataset(argv[1])
        if "--json" in argv[2:]:
            json.dump([dict(c, ids=c["ids"].reshape(-1).tolist()) for c in clips], sys.stdout)
            print()
            return 0
        count = sum(1 for _ in clips)
    except DatasetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    classes = f"{len(index['classes'])} classes" if index["classes"] else "unlabelled"
    print(f"{argv[1]}: {count} clips of {'x'.join(map(str, index['grid']))} tokens from {index['files']} files "
          f"({len(index['failures'])} failed), tokenizer {index['tokenizer']['name']}, {classes}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
