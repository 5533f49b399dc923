#!/usr/bin/env python3
"""Reads a Magvit token dataset (made by `magvit tokenize`) with safetensors and numpy.

    from read_tokens import read_dataset
    index, clips = read_dataset("data/tokens")
    for clip in clips:              # in dataset order
        clip["ids"]                 # int32 array (t, h, w) of token ids
        clip["source"], clip["clip_index"], clip["start_frame"], clip["frames"], clip["label"], clip["fps"]

As a program it prints a summary, or with --json every clip as a JSON list (ids flattened).
Layout: docs/datasets.md. Needs: pip install safetensors numpy.
"""
import hashlib
import json
import pathlib
import sys

from safetensors import safe_open
from safetensors.numpy import load_file


def read_dataset(folder, verify=True):
    """The index (dataset.json as a dict) and a generator over the clips as dicts."""
    folder = pathlib.Path(folder)
    index = json.loads((folder / "dataset.json").read_text())
    if index.get("format") != "magvit-token-dataset" or index.get("version") != 1:
        raise ValueError(f"{folder}: not a version-1 magvit token dataset")

    def clips():
        for shard in index["shards"]:
            path = folder / shard["file"]
            if verify and hashlib.sha256(path.read_bytes()).hexdigest() != shard["sha256"]:
                raise ValueError(f"{path}: corrupt shard (SHA-256 differs from dataset.json)")
            with safe_open(str(path), framework="np") as f:
                sources = json.loads(f.metadata()["sources"])
            t = load_file(str(path))
            for i in range(t["ids"].shape[0]):
                yield {
                    "ids": t["ids"][i],
                    "source": sources[int(t["source"][i])],
                    "clip_index": int(t["clip_index"][i]),
                    "start_frame": int(t["start_frame"][i]),
                    "frames": int(t["frames"][i]),
                    "label": int(t["label"][i]),
                    "fps": float(t["fps"][i]),
                }

    return index, clips()


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    index, clips = read_dataset(argv[1])
    if "--json" in argv[2:]:
        json.dump([dict(c, ids=c["ids"].reshape(-1).tolist()) for c in clips], sys.stdout)
        print()
        return 0
    count = sum(1 for _ in clips)
    classes = f"{len(index['classes'])} classes" if index["classes"] else "unlabelled"
    print(f"{argv[1]}: {count} clips of {'x'.join(map(str, index['grid']))} tokens from {index['files']} files "
          f"({len(index['failures'])} failed), tokenizer {index['tokenizer']['name']}, {classes}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
