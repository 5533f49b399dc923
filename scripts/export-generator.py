"""Writes the weights of a generator run's checkpoint (checkpoint.safetensors, the `model` or `ema`
group) as a generator file, for `initialWeights` (a warm start) or for use before the run ends.

Usage: PYTHONPATH=.deps/python-tools python3 scripts/export-generator.py RUN_DIR OUT.safetensors [model|ema] [TOKENIZER_HASH]
The metadata (generator_config, tokenizer, tokenizer_hash) comes from the run's config.json and
the checkpoint's identity; TOKENIZER_HASH (`magvit info TOKENIZER` prints it) for checkpoints
written before runs recorded it."""
import json
import os
import sys

from safetensors import safe_open
from safetensors.numpy import load_file, save_file

run, out = sys.argv[1], sys.argv[2]
group = sys.argv[3] if len(sys.argv) > 3 else "model"
path = os.path.join(run, "checkpoint.safetensors")
with safe_open(path, "np") as f:
    meta = f.metadata()
config = json.load(open(os.path.join(run, "config.json")))
weights = {k[len(group) + 1:]: v.astype("float32") for k, v in load_file(path).items() if k.startswith(group + ".")}
if not weights:
    sys.exit(f"{path} holds no '{group}' group")
metadata = {"magvit.format": "generator-v1", "generator_config": meta["identity.generator_config"],
            "tokenizer": config["tokenizer"], "data": config["data"]["kind"], "pad": str(config["data"].get("pad", False)).lower(),
            "exported_from": f"{path} step {meta['step']} ({group})"}
if len(sys.argv) > 4:
    metadata["tokenizer_hash"] = sys.argv[4]
elif "identity.tokenizer_hash" in meta:
    metadata["tokenizer_hash"] = meta["identity.tokenizer_hash"]
save_file(weights, out, metadata=metadata)
print(f"{out}: {len(weights)} tensors, step {meta['step']} ({group})")
