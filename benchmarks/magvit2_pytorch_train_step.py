"""The magvit2-pytorch side of `magvit-bench train-step`: one step of lucidrains' VideoTokenizer as its
VideoTokenizerTrainer.train_step runs it (loss = model(video, return_loss=True), backward, its AdamW
with grouped weight decay, ema_pytorch's EMA; with --losses full also VGG16 perceptual, the adaptive
GAN weight and the discriminator step with its gradient penalty every 4th step), at the layout of
Magvit's video-small preset: 17x64x64 clips, channels 32-64-64-128, 8x space and 4x time, 2^18 LFQ
codes; three of its residual units a level (each one 3x3x3 and one 1x1 convolution), which gives a
step the FLOPs of ours (199 vs 186 GFLOP at batch 1). Its LFQ (vector-quantize-pytorch) computes the
tokens x 2^18 entropy whenever it trains, whatever its weight. Its own random weights (the architectures differ); the same
inputs. Prints one JSON object: step times, peak memory, FLOPs of one step, the first step's MSE."""
import contextlib
import json
import sys

import torch
import torchvision
from safetensors.torch import load_file
from torch.utils.flop_counter import FlopCounterMode

from peer_measure import print_profile, step_arguments, time_steps

# VGG16's ImageNet weights come over the network; offline, random weights cost the same time.
_vgg16 = torchvision.models.vgg16
torchvision.models.vgg16 = lambda weights=None, **kw: _vgg16(weights=None)
from ema_pytorch import EMA  # noqa: E402
from magvit2_pytorch import VideoTokenizer  # noqa: E402
from magvit2_pytorch.optimizer import get_optimizer  # noqa: E402

a, dev = step_arguments()
full = a.losses == "full"
video = load_file(f"{a.folder}/inputs.safetensors")["inputs"].to(dev)  # (B, C, 17, 64, 64)

with contextlib.redirect_stdout(sys.stderr):
    model = VideoTokenizer(
        image_size=video.shape[-1], init_dim=32, codebook_size=2 ** 18, channels=video.shape[1],
        input_conv_kernel_size=(3, 3, 3), output_conv_kernel_size=(3, 3, 3),
        layers=(("consecutive_residual", 3), ("compress_space", 64), ("consecutive_residual", 3), ("compress_space", 64),
                ("compress_time", 64), ("consecutive_residual", 3), ("compress_space", 128), ("compress_time", 128),
                ("consecutive_residual", 3)),
        lfq_entropy_loss_weight=0.0 if a.losses == "network" else 0.1,
        perceptual_loss_weight=0.1 if full else 0.0, use_gan=full, flash_attn=False).to(dev).train()
    optimizer = get_optimizer(model.parameters(), lr=1e-4)
    discr_optimizer = get_optimizer(model.discr_parameters(), lr=1e-4) if full else None
    ema = EMA(model, include_online_model=False)


def step(index):
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if a.bf16 else contextlib.nullcontext()
    optimizer.zero_grad()
    with autocast:
        loss, breakdown = model(video, return_loss=True)
    loss.backward()
    optimizer.step()
    ema.update()
    if full:
        discr_optimizer.zero_grad()
        with autocast:
            discr_loss, _ = model(video, return_discr_loss=True, apply_gradient_penalty=index % 4 == 0)
        discr_loss.backward()
        discr_optimizer.step()
        discr_optimizer.step()  # train_step steps it again inside its warmup's dampening
    return breakdown.recon_loss.item()


# Counted on a step without the gradient penalty: FlopCounterMode's hooks refuse its autograd.grad on
# a leaf (torch 2.15); the timed steps include it every 4th step as the trainer does.
with FlopCounterMode(display=False) as counter:
    first = step(1)
flops = counter.get_total_flops()
times, peak_bytes = time_steps(step, dev, a.warmup, a.iterations, first_index=2)
if a.profile:
    print_profile(step, 2 + a.warmup + a.iterations)
print(json.dumps({"torch": torch.__version__, "step_s": times, "peak_bytes": peak_bytes, "flops": float(flops),
                  "first_reconstruction": first}))
