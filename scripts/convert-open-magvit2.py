"""Converts an Open-MAGVIT2 Lightning checkpoint (.ckpt) into safetensors that
`VideoTokenizer.loadOpenMagvit2(from:)` reads. Needs torch and safetensors (any recent version):

    python scripts/convert-open-magvit2.py imagenet_128_L.ckpt open-magvit2-128.safetensors

Only the tokenizer's tensors (encoder.*, decoder.*) are kept."""
import argparse

import torch
from safetensors.torch import save_file

p = argparse.ArgumentParser()
p.add_argument("checkpoint")
p.add_argument("output")
a = p.parse_args()
blob = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
state = blob.get("state_dict", blob)
kept = {k: v.contiguous() for k, v in state.items() if k.startswith(("encoder.", "decoder."))}
if not kept:
    raise SystemExit(f"{a.checkpoint}: no encoder.* or decoder.* tensors; is this an Open-MAGVIT2 tokenizer checkpoint?")
save_file(kept, a.output, {"source": a.checkpoint})
print(f"{len(kept)} tensors written to {a.output} ({len(state) - len(kept)} others skipped)")
