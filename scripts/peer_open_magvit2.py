"""The peer of the recipe study (issue 31): Open-MAGVIT2's image tokenizer trained by its own recipe
on the batches Magvit's image-first stage trains on, scored on that stage's held-out frames exactly as
Magvit's trainer scores them. Run by scripts/peer-open-magvit2.sh (which makes .deps/peer-venv).

What runs is Open-MAGVIT2 1.1's code, imported from the wheel: its VQModel (taming/models/lfqgan.py)
with its Encoder/Decoder, its LFQ (18 bits, the full 2^18-way entropy of its lookup_free_quantize.py)
and its VQLPIPSWithDiscriminator, with the loss weights, optimizers (Adam lr 1e-4, betas (0.5, 0.9), one
for the tokenizer and one for the discriminator, no schedule) and EMA (LitEma 0.999) of its released
image config (configs/gpu/imagenet_lfqgan_128_L.yaml). Only what its Lightning trainer did is written
here: the loop of VQModel.training_step (generator update, then discriminator update, then EMA),
checkpoints and logging. Lightning itself is not installed: VQModel's base class is a stand-in that is
torch.nn.Module (the model never calls Lightning in what runs here).

Sizes: the released config is ch 128, 4 residual blocks at 128x128; here ch 32, 1 residual block,
ch_mult (1, 2, 2, 4) at 64x64, which is Magvit's image-first layout: 2,497,845 parameters on both
sides. The released config's 8 images a GPU on 32 GPUs becomes run.batch 64 as 8 micro-batches of 8,
gradients summed as DDP averages them across 8 ranks (each micro-batch's entropy over its own 8 images,
as each rank's is); the entropy's 2^18 logits for a whole batch of 64 would take ~30 GB.

LPIPS: its VGG16 backbone and linear heads come over the network (torchvision's ImageNet VGG16 and
taming's vgg.pth), which this machine cannot reach; the VGG16 LPIPS weights on disk are ST-LPIPS's
(.deps/weights/stlpips-vgg.safetensors, scripts/setup.sh): the same 13 convolutions and 5 heads,
trained with blurred downsampling, loaded here into their standard VGG16 (max-pooling). Say so
wherever the peer's numbers are quoted.

Data: `magvit-bench dump-data` writes the image-first config's training batches (the same sources,
seed and step numbers as `magvit train`) in chunks made in the background while the previous chunk
trains, and its held-out set (64 frames) once. Scores: PSNR per frame of ((x + 1) / 2) clamped to
[0, 1] (float64 MSE, capped at 100 dB, averaged over frames), as HeldOutEvaluation.score, and the
block-mean floor at 18 bits (8x8 block means at 6 bits a channel, bilinear) on the same frames.
"psnr" scores the training weights; "psnr_ema" their EMA (0.999 from the start, so over a CPU-hour's
hundred-odd steps it is still mostly the initialisation: scoring it would measure the EMA's lag).
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from safetensors.torch import load_file

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--run", required=True, help="run folder (log.jsonl, checkpoint.pt, data/)")
p.add_argument("--config", default="configs/recipes/image-first.yaml", help="Magvit config whose data is used")
p.add_argument("--bench", default=".build/debug/magvit-bench", help="magvit-bench with dump-data")
p.add_argument("--budget", type=float, default=3600,
               help="seconds of training (steps and waits for data; not evaluations): no step starts that would end past it, as run.timeBudget")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--lr", type=float, default=1e-4, help="both optimizers' learning rate (released config: 1e-4)")
p.add_argument("--micro-batch", type=int, default=8, help="images a micro-batch (released config: 8 a GPU)")
p.add_argument("--eval-seconds", type=float, default=200,
               help="training seconds between evaluations (image-first.yaml's 40 steps are ~200 s on 2 cores alone)")
p.add_argument("--eval-every", type=int, default=0, help="also evaluate every this many steps (0: by time only)")
p.add_argument("--log-every", type=int, default=1, help="steps between training records (a step takes minutes here)")
p.add_argument("--checkpoint-every", type=int, default=1)
p.add_argument("--chunk", type=int, default=40, help="training steps a data file holds")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
warnings.filterwarnings("ignore", message="Positional args are being deprecated")  # VQModel.state_dict's call
run = Path(a.run)
data = run / "data"
data.mkdir(parents=True, exist_ok=True)
weights_dir = Path(__file__).resolve().parent.parent / ".deps/weights"

# --- Open-MAGVIT2's classes, offline and without Lightning -------------------------------------------
lightning = types.ModuleType("lightning")
lightning.LightningModule = torch.nn.Module  # VQModel's base; nothing of Lightning is called below
sys.modules.setdefault("lightning", lightning)
_vgg16 = torchvision.models.vgg16
torchvision.models.vgg16 = lambda pretrained=False, **kw: _vgg16(weights=None)  # weights loaded below
from open_magvit2.taming.modules.losses import lpips as their_lpips  # noqa: E402


def load_vgg_lpips(self, name="vgg_lpips"):
    """ST-LPIPS's VGG16 weights into their LPIPS: conv i of stage s sits s - 1 places later there (a
    blur after each pooling), the heads and the scaling layer have the same names."""
    st = load_file(str(weights_dir / "stlpips-vgg.safetensors"))
    mapped = {}
    for key, value in st.items():
        if key.startswith("net.slice"):
            stage, index, what = key.split(".")[1], int(key.split(".")[2]), key.split(".")[3]
            if what == "filt":
                continue
            key = f"net.{stage}.{index - (int(stage[5:]) - 1)}.{what}"
        mapped[key] = value
    missing, unexpected = self.load_state_dict(mapped, strict=False)
    assert not unexpected and not [k for k in missing if not k.endswith("num_batches_tracked")], (missing, unexpected)


their_lpips.LPIPS.load_from_pretrained = load_vgg_lpips
from open_magvit2.taming.models.lfqgan import VQModel  # noqa: E402

bits = 18
model_args = dict(
    ddconfig=dict(double_z=False, z_channels=bits, resolution=64, in_channels=3, out_ch=3, ch=32, ch_mult=[1, 2, 2, 4], num_res_blocks=1),
    lossconfig=dict(target="open_magvit2.taming.modules.losses.vqperceptual.VQLPIPSWithDiscriminator",
                    params=dict(disc_conditional=False, disc_in_channels=3, disc_start=0, disc_weight=0.8, gen_loss_weight=0.1,
                                lecam_loss_weight=0.01, codebook_weight=0.1, commit_weight=0.25, codebook_enlarge_ratio=0,
                                codebook_enlarge_steps=2000)),
    n_embed=2 ** bits, embed_dim=bits, learning_rate=a.lr, sample_minimization_weight=1.0, batch_maximization_weight=1.0,
    scheduler_type="None", use_ema=True)
with open(os.devnull, "w") as quiet:  # their constructors print
    stdout, sys.stdout = sys.stdout, quiet
    try:
        model = VQModel(**model_args)
    finally:
        sys.stdout = stdout
tokenizer_parameters = sum(p.numel() for m in (model.encoder, model.decoder, model.quantize) for p in m.parameters())
# VQModel.configure_optimizers without its scheduler ("None" in the released config)
opt_gen = torch.optim.Adam(list(model.encoder.parameters()) + list(model.decoder.parameters()) + list(model.quantize.parameters()),
                           lr=a.lr, betas=(0.5, 0.9))
opt_disc = torch.optim.Adam(model.loss.discriminator.parameters(), lr=a.lr, betas=(0.5, 0.9))


# --- The data: Magvit's own batches ------------------------------------------------------------------
def dump(out, *options):
    return subprocess.Popen([a.bench, "dump-data", a.config, "--threads", "1", "--output", str(out), *options],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def finish(process, out):
    _, err = process.communicate()
    if process.returncode != 0 or not out.exists():
        sys.exit(f"peer: magvit-bench dump-data failed ({out}): {err.strip()[-2000:]}")


def chunk_file(start):
    return data / f"batches-{start:07d}.safetensors"


held_file = data / "held-out.safetensors"
if not held_file.exists():
    finish(dump(held_file, "--steps", "0", "--held-out"), held_file)
held = load_file(str(held_file))["held_out"][:, :, 0].contiguous()  # (64, 3, 1, 64, 64) -> images

# --- Scores, as Magvit's HeldOutEvaluation ------------------------------------------------------------


def viewed(x):
    return ((x.double() + 1) / 2).clamp(0, 1)


def psnr_per_image(a_, b_):
    mse = (a_ - b_).square().mean(dim=(1, 2, 3))
    return [min(100.0, 10 * math.log10(1 / m)) if m > 0 else 100.0 for m in mse.tolist()]


def block_mean(frames, factor=8, bits_per_channel=bits // 3):
    """BlockMeanCodec for single frames (N, C, H, W) in [0, 1]."""
    levels = (1 << bits_per_channel) - 1
    coded = torch.round(F.avg_pool2d(frames.float(), factor) * levels) / levels
    return F.interpolate(coded, size=frames.shape[-2:], mode="bilinear", align_corners=False).clamp(0, 1).double()


floor_psnr = sum(psnr_per_image(viewed(held), block_mean(viewed(held)))) / held.size(0)


def evaluate():
    """PSNR of the training weights, of the EMA weights, and the codes used, on the held-out frames."""
    model.eval()
    scores = {}
    with torch.no_grad():
        for name in ("psnr", "psnr_ema"):
            with model.ema_scope() if name == "psnr_ema" else _nothing():
                psnr, codes = [], set()
                for x in held.split(16):
                    quant, _, indices, _ = model.encode(x)
                    psnr += psnr_per_image(viewed(x), viewed(model.decode(quant)))
                    codes.update(indices.tolist())
                scores[name] = sum(psnr) / len(psnr)
                scores["codes_used" if name == "psnr" else "codes_used_ema"] = len(codes)
    model.train()
    model.loss.perceptual_loss.eval()
    return scores


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *_):
        return False


# --- Resume ------------------------------------------------------------------------------------------
log_path, checkpoint_path = run / "log.jsonl", run / "checkpoint.pt"
step, elapsed, step_seconds, cpu_elapsed = 0, 0.0, None, 0.0


def cpu_now():
    """User plus system CPU seconds of this process's threads and of its finished children (the
    batches' dumps): beside training_seconds, as Magvit's cpu_seconds (getrusage) on a shared machine."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if checkpoint_path.exists():
    c = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
    model.load_state_dict(c["model"], strict=False)
    opt_gen.load_state_dict(c["opt_gen"])
    opt_disc.load_state_dict(c["opt_disc"])
    model.loss.lecam_ema.logits_real_ema, model.loss.lecam_ema.logits_fake_ema = c["lecam"]
    torch.set_rng_state(c["rng"])
    step, elapsed, step_seconds, cpu_elapsed = c["step"], c["training_seconds"], c.get("step_seconds"), c.get("cpu_seconds", 0.0)
    # the log past the checkpoint is dropped, as Magvit's resume does
    rows = [r for r in log_path.read_text().splitlines() if r.strip() and json.loads(r).get("step", 0) <= step] if log_path.exists() else []
    log_path.write_text("".join(r + "\n" for r in rows))
elif log_path.exists():
    log_path.unlink()  # a start that never reached its first checkpoint


def log(record):
    with open(log_path, "a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)


def save(path, final=False):
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("loss.perceptual_loss.")}
    tmp = path.with_suffix(".partial")
    torch.save({"model": state, "opt_gen": opt_gen.state_dict(), "opt_disc": opt_disc.state_dict(),
                "lecam": (model.loss.lecam_ema.logits_real_ema, model.loss.lecam_ema.logits_fake_ema),
                "rng": torch.get_rng_state(), "step": step, "training_seconds": elapsed, "cpu_seconds": cpu_elapsed, "step_seconds": step_seconds, "final": final,
                "args": vars(a), "model_args": model_args}, tmp)
    os.replace(tmp, path)


if step == 0:
    log({"kind": "start", "peer": "open-magvit2 1.1", "tokenizer_parameters": tokenizer_parameters,
         "discriminator_parameters": sum(p.numel() for p in model.loss.discriminator.parameters()),
         "floor_psnr": floor_psnr, "held_out": held.size(0), "threads": torch.get_num_threads(), **vars(a)})
    log({"kind": "eval", "step": 0, **evaluate(), "floor_psnr": floor_psnr, "frames": held.size(0), "training_seconds": 0.0, "cpu_seconds": 0.0})
print(f"peer: Open-MAGVIT2 VQModel, {tokenizer_parameters:,} tokenizer parameters; {held.size(0)} held-out frames, "
      f"floor {floor_psnr:.2f} dB; from step {step} at {elapsed:.0f} of {a.budget:.0f} training seconds", flush=True)

# --- Training: VQModel.training_step, then on_train_batch_end's EMA --------------------------------------
start = step - step % a.chunk
pending = {start: dump(chunk_file(start), "--from", str(start), "--steps", str(a.chunk))} if not chunk_file(start).exists() else {}
batches, batches_from = None, None
window = {"steps": 0, "images": 0, "seconds": 0.0, "terms": {}}
model.train()
model.loss.perceptual_loss.eval()
clock = None
session_steps, session_seconds = 0, 0.0
last_eval = elapsed
done = step_seconds is not None and elapsed + step_seconds > a.budget
while not done:
    first = step - step % a.chunk
    if batches_from != first:  # this chunk's file, and the next one started in the background
        if first in pending:
            finish(pending.pop(first), chunk_file(first))
        batches, batches_from = load_file(str(chunk_file(first)))["batches"][:, :, 0], first
        if batches_from > 0 and chunk_file(batches_from - a.chunk).exists():
            chunk_file(batches_from - a.chunk).unlink()
        following = first + a.chunk
        if following not in pending and not chunk_file(following).exists():
            pending[following] = dump(chunk_file(following), "--from", str(following), "--steps", str(a.chunk))
    if clock is None:
        clock, cpu_clock = time.monotonic(), cpu_now()  # training time starts when the first batch is there
    size = batches.size(0) // a.chunk
    x = batches[(step - first) * size:(step - first + 1) * size].contiguous()
    parts = x.split(a.micro_batch)
    terms = {}
    # generator update: each micro-batch's loss as one rank's, gradients averaged over the ranks
    opt_gen.zero_grad()
    reconstructions = []
    for part in parts:
        xrec, eloss, loss_break = model(part)
        aeloss, info = model.loss(eloss, loss_break, part, xrec, 0, step, last_layer=model.get_last_layer(), split="train")
        (aeloss / len(parts)).backward()
        reconstructions.append(xrec.detach())
        for k, v in info.items():
            terms[k] = terms.get(k, 0.0) + float(v) / len(parts)
    opt_gen.step()
    gen_terms = set(terms)
    # discriminator update on the same reconstructions
    opt_disc.zero_grad()
    for part, xrec in zip(parts, reconstructions):
        # (this pass reads the codebook terms only for its log: the last micro-batch's are passed)
        discloss, info = model.loss(eloss, loss_break, part, xrec, 1, step, last_layer=model.get_last_layer(), split="train")
        (discloss / len(parts)).backward()
        for k, v in info.items():
            if k not in gen_terms:  # both passes log disc_factor
                terms[k] = terms.get(k, 0.0) + float(v) / len(parts)
    opt_disc.step()
    model.model_ema(model)
    step += 1
    now = time.monotonic()
    elapsed += now - clock
    cpu_elapsed += cpu_now() - cpu_clock
    window["seconds"] += now - clock
    session_steps, session_seconds = session_steps + 1, session_seconds + now - clock
    step_seconds = session_seconds / session_steps
    done = elapsed + step_seconds > a.budget  # the next step would end past the budget
    window["steps"], window["images"] = window["steps"] + 1, window["images"] + x.size(0)
    for k, v in terms.items():
        window["terms"][k] = window["terms"].get(k, 0.0) + v
    if step % a.log_every == 0 or done:
        log({"step": step, **{k.split("/")[1]: v / window["steps"] for k, v in window["terms"].items()},
             "examples_per_second": window["images"] / window["seconds"], "training_seconds": elapsed, "cpu_seconds": cpu_elapsed})
        window = {"steps": 0, "images": 0, "seconds": 0.0, "terms": {}}
    if (a.eval_every and step % a.eval_every == 0) or elapsed - last_eval >= a.eval_seconds or done:
        last_eval = elapsed
        log({"kind": "eval", "step": step, **evaluate(), "floor_psnr": floor_psnr, "frames": held.size(0), "training_seconds": elapsed,
             "cpu_seconds": cpu_elapsed})
    if step % a.checkpoint_every == 0 or done:
        save(checkpoint_path)
    clock, cpu_clock = time.monotonic(), cpu_now()  # evaluations and checkpoints are not training time

for process in pending.values():
    process.kill()
    process.wait()
save(run / "final.pt", final=True)
for stale in list(data.glob("batches-*")) + list(data.glob(".batches-*")):  # the held-out file stays
    stale.unlink()
print(f"peer: done, {step} steps in {elapsed:.0f} training seconds", flush=True)
