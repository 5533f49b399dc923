"""The PyTorch side of magvit-bench: the same causal 3D residual block and tiny-op loop as
Sources/magvit-bench, timed the same way. Prints one JSON object."""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--shape", default="1,64,17,64,64")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--iterations", type=int, default=5)
p.add_argument("--tiny-calls", type=int, default=100000)
p.add_argument("--device", default="cpu")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
dev = torch.device(a.device)
n, c, t, h, w = (int(v) for v in a.shape.split(","))


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def param(*shape, scale=1.0):
    return (torch.randn(*shape, device=dev) * scale).requires_grad_(True)


fan = c * 27
params = {
    "n1w": param(c), "n1b": param(c), "c1w": param(c, c, 3, 3, 3, scale=fan ** -0.5), "c1b": param(c),
    "n2w": param(c), "n2b": param(c), "c2w": param(c, c, 3, 3, 3, scale=fan ** -0.5), "c2b": param(c),
}
x = torch.randn(n, c, t, h, w, device=dev)


def causal_conv(v, weight, bias):
    # Two zero frames in front in time, one pixel around in space: the first frame sees only itself.
    return F.conv3d(F.pad(v, (1, 1, 1, 1, 2, 0)), weight, bias)


def block(v):
    hdn = causal_conv(F.silu(F.group_norm(v, 32, params["n1w"], params["n1b"], 1e-6)), params["c1w"], params["c1b"])
    hdn = causal_conv(F.silu(F.group_norm(hdn, 32, params["n2w"], params["n2b"], 1e-6)), params["c2w"], params["c2b"])
    return v + hdn


times = []
for i in range(a.warmup + a.iterations):
    sync()
    start = time.perf_counter()
    loss = block(x).square().mean()
    loss.backward()
    for q in params.values():
        q.grad = None
    sync()
    if i >= a.warmup:
        times.append(time.perf_counter() - start)
peak = torch.cuda.max_memory_allocated() if dev.type == "cuda" else 0

one, two = torch.ones(1, device=dev), torch.ones(1, device=dev)
for _ in range(1000):
    one + two
sync()
start = time.perf_counter()
for _ in range(a.tiny_calls):
    one + two
sync()
tiny = (time.perf_counter() - start) / a.tiny_calls
print(json.dumps({"torch": torch.__version__, "median_s": statistics.median(times), "min_s": min(times),
                  "tiny_add_us": tiny * 1e6, "peak_bytes": peak}))
