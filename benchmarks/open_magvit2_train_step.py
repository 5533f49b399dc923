"""The Open-MAGVIT2 side of `magvit-bench train-step`: one training step of Open-MAGVIT2's image
tokenizer as its VQModel.training_step runs it (encoder, LFQ with its 2^bits entropy, decoder,
VQLPIPSWithDiscriminator for the generator and then the discriminator, Adam betas (0.5, 0.9), LitEma),
holding the weights Swift exported, on the same inputs. `--losses reconstruction` keeps L1 + LFQ
(their formula, without LPIPS and the discriminator); `--losses network` also drops the entropy
penalty (their LFQ then skips its tokens x 2^bits logits). Prints one JSON object: step times, peak
memory, FLOPs of one step (torch.utils.flop_counter) and the first step's L1."""
import contextlib
import json
import sys

import torch
import torchvision
from safetensors.torch import load_file
from torch.utils.flop_counter import FlopCounterMode

from peer_measure import print_profile, step_arguments, time_steps

# Their LPIPS fetches ImageNet VGG16 and LPIPS heads over the network; offline, the same networks with
# random weights cost the same time.
_vgg16 = torchvision.models.vgg16
torchvision.models.vgg16 = lambda pretrained=False, **kw: _vgg16(weights=None)
from open_magvit2.taming.modules.losses import lpips as their_lpips  # noqa: E402

their_lpips.LPIPS.load_from_pretrained = lambda self, name="vgg_lpips": None
from open_magvit2.taming.modules.diffusionmodules.improved_model import Decoder, Encoder  # noqa: E402
from open_magvit2.taming.modules.ema import LitEma  # noqa: E402
from open_magvit2.taming.modules.losses.vqperceptual import VQLPIPSWithDiscriminator  # noqa: E402
from open_magvit2.taming.modules.vqvae.lookup_free_quantize import LFQ  # noqa: E402

a, dev = step_arguments()
cfg = json.load(open(f"{a.folder}/config.json"))
dd = dict(ch=cfg["ch"], out_ch=3, in_channels=3, num_res_blocks=cfg["blocks"], z_channels=cfg["bits"],
          ch_mult=tuple(cfg["mult"]), resolution=cfg["resolution"])


class Model(torch.nn.Module):
    """VQModel's modules without Lightning: what its optimizers and EMA see."""

    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = Encoder(**dd), Decoder(**dd)
        self.quantize = LFQ(dim=cfg["bits"], codebook_size=2 ** cfg["bits"], sample_minimization_weight=1.0,
                            batch_maximization_weight=1.0)
        self.loss = VQLPIPSWithDiscriminator(disc_start=0, codebook_weight=0.1, pixelloss_weight=1.0, disc_num_layers=3,
                                             disc_in_channels=3, disc_factor=1.0, commit_weight=0.25,
                                             codebook_enlarge_ratio=3, codebook_enlarge_steps=2000,
                                             perceptual_weight=1.0 if a.losses == "full" else 0.0, disc_ndf=64,
                                             disc_loss="non_saturate", gen_loss_weight=0.1, lecam_loss_weight=0.05)

    def forward(self, x):
        (quant, eloss, _), breakdown = self.quantize(self.encoder(x), return_loss_breakdown=True,
                                                      return_loss=a.losses != "network")
        return self.decoder(quant), eloss, breakdown


with contextlib.redirect_stdout(sys.stderr):  # their constructors print
    model = Model().to(dev).train()
state = load_file(f"{a.folder}/weights.safetensors")
model.encoder.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("encoder.")})
model.decoder.load_state_dict({k[8:]: v for k, v in state.items() if k.startswith("decoder.")})
generator = list(model.encoder.parameters()) + list(model.decoder.parameters()) + list(model.quantize.parameters())
opt_gen = torch.optim.Adam(generator, lr=1e-4, betas=(0.5, 0.9))
opt_disc = torch.optim.Adam(model.loss.discriminator.parameters(), lr=1e-4, betas=(0.5, 0.9))
ema = LitEma(model)  # VQModel's use_ema: a shadow of every trainable parameter
x = load_file(f"{a.folder}/inputs.safetensors")["inputs"][:, :, 0].contiguous().to(dev)  # (B, C, 1, H, W) -> images


def step(global_step):
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if a.bf16 else contextlib.nullcontext()
    with autocast:
        xrec, eloss, breakdown = model(x)
        if a.losses == "full":
            loss, _ = model.loss(eloss, breakdown, x, xrec, 0, global_step, last_layer=model.decoder.conv_out.weight)
        else:
            # Their generator objective without LPIPS and the discriminator (vqperceptual.py's formula).
            rec = torch.abs(x.contiguous() - xrec.contiguous()).mean()
            entropy = 0.1 * eloss
            entropy = 3 * max(0, 1 - global_step / 2000) * entropy + entropy
            loss = rec + entropy + breakdown.commitment * 0.25
    opt_gen.zero_grad()
    loss.backward()
    opt_gen.step()
    if a.losses == "full":
        with autocast:
            d_loss, _ = model.loss(eloss, breakdown, x, xrec, 1, global_step, last_layer=model.decoder.conv_out.weight)
        opt_disc.zero_grad()
        d_loss.backward()
        opt_disc.step()
    ema(model)
    return torch.abs(x - xrec.float()).mean().item()


with FlopCounterMode(display=False) as counter:
    first = step(0)
flops = counter.get_total_flops()
times, peak_bytes = time_steps(step, dev, a.warmup, a.iterations, first_index=1)
if a.profile:
    print_profile(step, 1 + a.warmup + a.iterations)
print(json.dumps({"torch": torch.__version__, "step_s": times, "peak_bytes": peak_bytes, "flops": float(flops),
                  "first_reconstruction": first}))
