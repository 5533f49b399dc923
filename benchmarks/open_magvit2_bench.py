"""The Open-MAGVIT2 side of `magvit-bench tokenizer`: loads the weights Swift exported (our names are
theirs; kernels already 2D), encodes and decodes the same inputs with Open-MAGVIT2's PyTorch modules,
times them like the Swift side, writes its reconstructions for comparison and prints one JSON object."""
import argparse
import json
import statistics
import time

import torch
from safetensors.torch import load_file, save_file

from peer_measure import peak, reset_peak, sync
from open_magvit2.taming.modules.diffusionmodules.improved_model import Decoder, Encoder
from open_magvit2.taming.modules.vqvae.lookup_free_quantize import LFQ

p = argparse.ArgumentParser()
p.add_argument("folder")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--warmup", type=int, default=1)
p.add_argument("--iterations", type=int, default=3)
p.add_argument("--device", default="cpu")
a = p.parse_args()
torch.set_num_threads(a.threads)
dev = torch.device(a.device)
cfg = json.load(open(f"{a.folder}/config.json"))
dd = dict(ch=cfg["ch"], out_ch=3, in_channels=3, num_res_blocks=cfg["blocks"], z_channels=cfg["bits"],
          ch_mult=tuple(cfg["mult"]), resolution=cfg["resolution"])
encoder, decoder = Encoder(**dd).to(dev).eval(), Decoder(**dd).to(dev).eval()
state = load_file(f"{a.folder}/weights.safetensors")
encoder.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("encoder.")})
decoder.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("decoder.")})
quantizer = LFQ(dim=cfg["bits"], codebook_size=2 ** cfg["bits"]).to(dev).eval()
inputs = load_file(f"{a.folder}/inputs.safetensors")


results, outputs = {}, {}
with torch.no_grad():
    for name, x in inputs.items():
        frames = x.to(dev)
        if frames.dim() == 5:  # (B, C, T, H, W) -> a batch of T images, as the image model takes them
            frames = frames[0].transpose(0, 1).contiguous()
        encode, decode = [], []
        baseline = reset_peak(dev)
        for i in range(a.warmup + a.iterations):
            sync(dev)
            t0 = time.perf_counter()
            _, _, ids = quantizer(encoder(frames))
            sync(dev)
            t1 = time.perf_counter()
            b, _, h, w = frames.shape
            bits = ((ids.reshape(b, h // 2 ** (len(dd["ch_mult"]) - 1), -1, 1) >> torch.arange(cfg["bits"], device=dev)) & 1)
            codes = (bits.float() * 2 - 1).permute(0, 3, 1, 2)
            reconstruction = decoder(codes)
            sync(dev)
            t2 = time.perf_counter()
            if i >= a.warmup:
                encode.append(t1 - t0)
                decode.append(t2 - t1)
        results[name] = {"frames": frames.shape[0], "encode_s": statistics.median(encode),
                         "decode_s": statistics.median(decode), "peak_bytes": peak(dev, baseline)}
        outputs[name] = reconstruction.float().cpu().contiguous()
save_file(outputs, f"{a.folder}/open_magvit2_reconstructions.safetensors")
print(json.dumps({"torch": torch.__version__, "results": results}))
