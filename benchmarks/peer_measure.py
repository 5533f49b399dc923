"""Measuring helpers shared by the peer sides of magvit-bench, measured the way the Swift side is:
synchronised wall time per call, and peak memory as the CUDA allocator's peak on a GPU or, on the
CPU, the growth of the resident high-water mark over the resident size at the start."""
import argparse
import sys
import time

import torch


def sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def _status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024


def reset_peak(dev):
    """Starts a measured section; returns the baseline `peak` needs."""
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        return 0
    open("/proc/self/clear_refs", "w").write("5")
    return _status("VmRSS:")


def peak(dev, baseline):
    if dev.type == "cuda":
        return torch.cuda.max_memory_allocated()
    return _status("VmHWM:") - baseline


def time_steps(step, dev, warmup, iterations, first_index):
    """Runs step(first_index + i) warmup + iterations times; returns the timed seconds and the peak."""
    baseline = reset_peak(dev)
    times = []
    for i in range(warmup + iterations):
        sync(dev)
        t0 = time.perf_counter()
        step(first_index + i)
        sync(dev)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return times, peak(dev, baseline)


def print_profile(step, index):
    """One step under torch.profiler: the top ops by self time, on stderr."""
    with torch.profiler.profile() as prof:
        step(index)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20), file=sys.stderr)


def step_arguments():
    """The train-step peers' command line (the Swift side passes it); sets threads and the seed."""
    p = argparse.ArgumentParser()
    p.add_argument("folder")
    p.add_argument("--losses", choices=["network", "reconstruction", "full"], default="reconstruction")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--bf16", action="store_true")
    p.add_argument("--profile", action="store_true", help="print one step's top ops by self time to stderr")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    return a, torch.device(a.device)
