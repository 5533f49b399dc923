"""Peak memory of one LFQ loss + backward step at 2^18 codes in the PyTorch peers (Open-MAGVIT2 and
vector-quantize-pytorch), for `magvit-bench lfq`. Prints one JSON object."""
import argparse
import json

import torch
from open_magvit2.taming.modules.vqvae.lookup_free_quantize import LFQ as OpenMagvit2LFQ
from vector_quantize_pytorch import LFQ as LucidrainsLFQ

p = argparse.ArgumentParser()
p.add_argument("--tokens", type=int, default=4096)
p.add_argument("--bits", type=int, default=18)
p.add_argument("--device", default="cpu")
a = p.parse_args()
dev = torch.device(a.device)


def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024


def measure(make, call):
    quantizer = make().to(dev).train()
    z = (torch.randn(1, a.bits, 1, 1, a.tokens, device=dev) * 0.01).requires_grad_(True)
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        open("/proc/self/clear_refs", "w").write("5")
        base = status("VmRSS:")
    try:
        call(quantizer, z).backward()
    except RuntimeError as error:  # out of memory
        return {"error": str(error).splitlines()[0]}
    if dev.type == "cuda":
        torch.cuda.synchronize()
        return {"peak_bytes": torch.cuda.max_memory_allocated() - base}
    return {"peak_bytes": status("VmHWM:") - base}


def om2_loss(q, z):
    (quantized, aux, _), breakdown = q(z, return_loss_breakdown=True)
    return 0.1 * aux + 0.25 * breakdown.commitment + quantized.square().mean()


def vqp_loss(q, z):
    quantized, _, aux = q(z)
    return aux + quantized.square().mean()


codes = 2 ** a.bits
print(json.dumps({
    "torch": torch.__version__,
    "open_magvit2": measure(lambda: OpenMagvit2LFQ(dim=a.bits, codebook_size=codes), om2_loss),
    "vector_quantize_pytorch": measure(lambda: LucidrainsLFQ(dim=a.bits, codebook_size=codes, commitment_loss_weight=0.25), vqp_loss),
}))
