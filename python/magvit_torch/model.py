"""MAGVIT-v2's video tokenizer (Yu et al., "Language Model Beats Diffusion — Tokenizer is Key to Visual
Generation", arXiv 2310.05737) as Magvit builds it, in PyTorch.

Written from Magvit's Swift sources (Sources/Tokenizer: CausalConv3d, Blocks, Encoder, Decoder,
LookupFreeQuantizer, VectorQuantizer, VideoTokenizer, SpatialTiling) op for op, with the same parameter
names, so a Magvit checkpoint loads by name and gives the ids and frames the `magvit` tool gives.
Shapes: frames (B, C, T, H, W) in [-1, 1]; latents (B, d, t, h, w); ids (B, t, h, w) int64, with
t = 1 + (T - 1) / temporal_factor, h = H / spatial_factor, w = W / spatial_factor.
"""
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from .config import TokenizerConfig


# ---------------------------------------------------------------- layers (smallest first)

class CausalConv3d(nn.Module):
    """A 3D convolution causal in time (k_t - 1 frames of padding in front, none behind) and "same"
    padded in space. A 1-frame input runs as a 2D convolution with the last temporal slice of the
    kernel (zeros padding) or the sum of the slices (replicate padding), as Magvit's does."""

    def __init__(self, cin, cout, kernel, stride=(1, 1, 1), bias=True, temporal_padding="zeros"):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, *kernel))
        self.bias = nn.Parameter(torch.empty(cout)) if bias else None
        self.stride = tuple(stride)
        self.padding = (0, kernel[1] // 2, kernel[2] // 2)
        self.temporal_padding = temporal_padding

    def forward(self, x):  # (B, C, T, H, W)
        pad = self.weight.shape[2] - 1
        if x.shape[2] == 1:
            w = self.weight[:, :, pad] if self.temporal_padding == "zeros" or pad == 0 else self.weight.sum(2)
            return F.conv2d(x.squeeze(2), w, self.bias, self.stride[1:], self.padding[1:]).unsqueeze(2)
        if pad > 0:
            if self.temporal_padding == "zeros":
                x = F.pad(x, (0, 0, 0, 0, pad, 0))
            else:
                x = torch.cat([x[:, :, :1].expand(-1, -1, pad, -1, -1), x], dim=2)
        return F.conv3d(x, self.weight, self.bias, self.stride, self.padding)


def frame_group_norm(x, groups, weight, bias, eps):
    """Group norm of (B, C, T, H, W) computed for each frame on its own (keeps the encoder causal)."""
    b, c, t, h, w = x.shape
    if t == 1:
        return F.group_norm(x, groups, weight, bias, eps)
    frames = x.transpose(1, 2).reshape(b * t, c, h, w)  # (B·T, C, H, W)
    return F.group_norm(frames, groups, weight, bias, eps).reshape(b, t, c, h, w).transpose(1, 2)


class FrameGroupNorm(nn.Module):
    def __init__(self, groups, channels, affine=True):
        super().__init__()
        self.groups, self.eps = groups, 1e-6
        self.weight = nn.Parameter(torch.ones(channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(channels)) if affine else None

    def forward(self, x):
        return frame_group_norm(x, self.groups, self.weight, self.bias, self.eps)


class ResBlock(nn.Module):
    """norm -> swish -> causal conv -> norm -> swish -> causal conv, a 1x1x1 shortcut when channels change."""

    def __init__(self, cin, cout, c: TokenizerConfig):
        super().__init__()
        k = (c.temporal_kernel, 3, 3)
        self.norm1 = FrameGroupNorm(c.norm_groups, cin)
        self.conv1 = CausalConv3d(cin, cout, k, bias=False, temporal_padding=c.temporal_padding)
        self.norm2 = FrameGroupNorm(c.norm_groups, cout)
        self.conv2 = CausalConv3d(cout, cout, k, bias=False, temporal_padding=c.temporal_padding)
        self.nin_shortcut = None if cin == cout else CausalConv3d(cin, cout, (1, 1, 1), bias=False)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.nin_shortcut is None else self.nin_shortcut(x)) + h


class AdaptiveGroupNorm(nn.Module):
    """Affine-free group norm whose scale is Linear(std of z over t, h, w) and shift Linear(mean of z),
    z the quantized latents (the std from the unbiased variance plus eps)."""

    def __init__(self, latent_channels, channels, groups):
        super().__init__()
        self.groups, self.eps = groups, 1e-6
        self.gamma = nn.Linear(latent_channels, channels)
        self.beta = nn.Linear(latent_channels, channels)

    def forward(self, x, style):  # x (B, C, T, H, W), style (B, d, t, h, w)
        flat = style.flatten(2)  # (B, d, t·h·w)
        scale = self.gamma((flat.var(2) + self.eps).sqrt())  # (B, C)
        shift = self.beta(flat.mean(2))
        shape = (x.shape[0], x.shape[1], 1, 1, 1)
        normalized = frame_group_norm(x, self.groups, None, None, self.eps)
        return normalized * scale.reshape(shape) + shift.reshape(shape)


def depth_to_space(x, ft, fh, fw):
    """(B, C·ft·fh·fw, T, H, W) -> (B, C, T·ft, H·fh, W·fw), the factors outermost in the channel index."""
    b, c, t, h, w = x.shape
    out = c // (ft * fh * fw)
    y = x.reshape(b, ft, fh, fw, out, t, h, w).permute(0, 4, 5, 1, 6, 2, 7, 3)  # (B, C, T, ft, H, fh, W, fw)
    return y.reshape(b, out, t * ft, h * fh, w * fw)


class Upsampler(nn.Module):
    """Causal conv to C·ft·4 channels, depth-to-space; temporal upsampling drops the first ft - 1 frames,
    so 1 + k frames become 1 + ft·k."""

    def __init__(self, channels, temporal_factor, c: TokenizerConfig):
        super().__init__()
        self.temporal_factor = temporal_factor
        self.conv1 = CausalConv3d(channels, channels * 4 * temporal_factor, (c.temporal_kernel, 3, 3),
                                  temporal_padding=c.temporal_padding)

    def forward(self, x):
        y = depth_to_space(self.conv1(x), self.temporal_factor, 2, 2)
        return y if self.temporal_factor == 1 else y[:, :, self.temporal_factor - 1:]


# ---------------------------------------------------------------- encoder and decoder

class _Level(nn.Module):
    """One resolution level: `block.j` residual blocks (cin -> cout in the first), then `downsample`
    (encoder) or `upsample` (decoder), set by the caller."""

    def __init__(self, cin, cout, c: TokenizerConfig):
        super().__init__()
        self.block = nn.ModuleList(ResBlock(cin if j == 0 else cout, cout, c) for j in range(c.residual_blocks))


class Encoder(nn.Module):
    """conv in -> levels of residual blocks with strided causal downsampling (time halved only in the
    last `temporal_downsamplings` levels) -> middle blocks -> norm, swish, 1x1x1 conv to d channels."""

    def __init__(self, c: TokenizerConfig):
        super().__init__()
        k = (c.temporal_kernel, 3, 3)
        self.conv_in = CausalConv3d(c.image_channels, c.base_channels, k, bias=False, temporal_padding=c.temporal_padding)
        self.down = nn.ModuleList()
        channels, count = c.base_channels, len(c.channel_multipliers)
        for i, multiplier in enumerate(c.channel_multipliers):
            out = c.base_channels * multiplier
            level = _Level(channels, out, c)
            channels = out
            if i < count - 1:
                temporal = 2 if i >= count - 1 - c.temporal_downsamplings else 1
                level.downsample = CausalConv3d(out, out, k, stride=(temporal, 2, 2), temporal_padding=c.temporal_padding)
            else:
                level.downsample = None
            self.down.append(level)
        self.mid_block = nn.ModuleList(ResBlock(channels, channels, c) for _ in range(c.residual_blocks))
        self.norm_out = FrameGroupNorm(c.norm_groups, channels)
        self.conv_out = CausalConv3d(channels, c.latent_channels, (1, 1, 1))
        self.latent_norm = (FrameGroupNorm(_gcd(c.norm_groups, c.latent_channels), c.latent_channels, affine=False)
                            if c.normalize_latents else None)

    def forward(self, x):  # (B, C, T, H, W) in [-1, 1] -> (B, d, t, h, w)
        h = self.conv_in(x)
        for level in self.down:
            for block in level.block:
                h = block(h)
            if level.downsample is not None:
                h = level.downsample(h)
        for block in self.mid_block:
            h = block(h)
        h = self.conv_out(F.silu(self.norm_out(h)))
        return h if self.latent_norm is None else self.latent_norm(h)


class Decoder(nn.Module):
    """conv in -> middle blocks -> per level, coarse to fine: adaptive group norm on the quantized
    latents, residual blocks, depth-to-space upsampling -> norm, swish, conv out."""

    def __init__(self, c: TokenizerConfig):
        super().__init__()
        k = (c.temporal_kernel, 3, 3)
        count, d = len(c.channel_multipliers), c.latent_channels
        channels = c.base_channels * c.channel_multipliers[-1]
        self.conv_in = CausalConv3d(d, channels, k, temporal_padding=c.temporal_padding)
        self.mid_block = nn.ModuleList(ResBlock(channels, channels, c) for _ in range(c.residual_blocks))
        adaptive, up = [None] * count, [None] * count  # indexed by level, 0 = finest
        for i in reversed(range(count)):
            adaptive[i] = AdaptiveGroupNorm(d, channels, c.norm_groups)
            out = c.base_channels * c.channel_multipliers[i]
            level = _Level(channels, out, c)
            channels = out
            temporal = 2 if i >= count - c.temporal_downsamplings else 1
            level.upsample = Upsampler(channels, temporal, c) if i > 0 else None
            up[i] = level
        self.adaptive = nn.ModuleList(adaptive)
        self.up = nn.ModuleList(up)
        self.norm_out = FrameGroupNorm(c.norm_groups, channels)
        self.conv_out = CausalConv3d(channels, c.image_channels, k, temporal_padding=c.temporal_padding)

    def forward(self, z):  # (B, d, t, h, w) -> (B, C, T, H, W)
        h = self.conv_in(z)
        for block in self.mid_block:
            h = block(h)
        for i in reversed(range(len(self.up))):
            h = self.adaptive[i](h, z)
            for block in self.up[i].block:
                h = block(h)
            if self.up[i].upsample is not None:
                h = self.up[i].upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


def _gcd(a, b):
    return a if b == 0 else _gcd(b, a % b)


# ---------------------------------------------------------------- quantizers

class Quantized(NamedTuple):
    """Straight-through codes (forward value the code, gradient to the latents) and their ids."""
    codes: torch.Tensor  # (B, d, t, h, w)
    ids: torch.Tensor    # (B, t, h, w) int64


class LookupFreeQuantizer(nn.Module):
    """MAGVIT-v2 §3.1: each channel to its sign (exact 0 -> -1); id = Σ_i [z_i > 0]·2^i, channel 0 the
    least significant bit (the order of docs/tokenizer.md, fixed for all versions)."""

    def __init__(self, bits):
        super().__init__()
        self.bits = bits

    def _powers(self, device):
        return torch.arange(self.bits, device=device).reshape(1, self.bits, 1, 1, 1)

    def ids(self, z):
        if z.dim() != 5 or z.shape[1] != self.bits:
            raise ValueError(f"LFQ expects latents (B, {self.bits}, t, h, w), got {tuple(z.shape)}")
        return ((z > 0).long() << self._powers(z.device)).sum(1)

    def codes(self, ids):
        return ((ids.long().unsqueeze(1) >> self._powers(ids.device)) & 1).float() * 2 - 1

    def forward(self, z):
        ids = self.ids(z)
        z32 = z if z.dtype == torch.float64 else z.float()  # the sign in float32 or wider, as Magvit
        q = (z32 > 0).to(z32.dtype) * 2 - 1
        return Quantized(z + (q.to(z.dtype) - z).detach(), ids)


class VectorQuantizer(nn.Module):
    """VQ-VAE: the nearest of K learned codes by Euclidean distance (Magvit's LFQ-vs-VQ comparison)."""

    def __init__(self, codebook_size, dimensions):
        super().__init__()
        self.codebook = nn.Embedding(codebook_size, dimensions)

    def ids(self, z):
        d = self.codebook.weight.shape[1]
        if z.dim() != 5 or z.shape[1] != d:
            raise ValueError(f"VQ expects latents (B, {d}, t, h, w), got {tuple(z.shape)}")
        flat = z.permute(0, 2, 3, 4, 1).reshape(-1, d).detach()
        e = self.codebook.weight.detach()
        distance = e.square().sum(1).unsqueeze(0) - (flat @ e.t()) * 2  # ‖z‖² is the same for every code
        return distance.argmin(1).reshape(z.shape[0], *z.shape[2:])

    def codes(self, ids):
        return self.codebook(ids.long()).permute(0, 4, 1, 2, 3)

    def forward(self, z):
        ids = self.ids(z)
        q = self.codes(ids)
        return Quantized(z + (q - z).detach(), ids)


# ---------------------------------------------------------------- spatial tiling

def _spans(length, tile, margin):
    """(window, core) token ranges along one axis: the fewest equal cores partitioning it whose windows
    (core plus `margin` tokens on inner sides) fit in `tile` (SpatialTiling.spans)."""
    if length <= tile:
        return [((0, length), (0, length))]
    n = 2
    while -(-length // n) + (2 if n > 2 else 1) * margin > tile:
        n += 1
    core = -(-length // n)
    spans = []
    for a in range(0, length, core):
        b = min(a + core, length)
        spans.append(((max(a - margin, 0), min(b + margin, length)), (a, b)))
    return spans


def _ramp(window, length, factor, margin):
    """A window's blend weights along one axis in pixels: rising across `margin` pixels at inner sides."""
    n = (window[1] - window[0]) * factor
    values = []
    for i in range(n):
        w = 1.0
        if margin > 0 and window[0] > 0:
            w = min(w, (i + 0.5) / margin)
        if margin > 0 and window[1] < length:
            w = min(w, (n - i - 0.5) / margin)
        values.append(w)
    return torch.tensor(values, dtype=torch.float32)


# ---------------------------------------------------------------- the tokenizer

class VideoTokenizer(nn.Module):
    """Encoder -> quantizer -> decoder, with the `magvit` tool's handling of whole videos.

    encode(frames) / decode(ids) work on uint8 frames (T, H, W, 3) or (B, T, H, W, 3) of any length, clip
    by clip as `magvit encode` and `magvit decode` do; encode_clip / decode_clip / latents / quantize /
    codes are the model itself on (B, C, T, H, W) in [-1, 1]. Frames larger than `tile` pixels (default
    320, 32 of overlap, as the tool's --tile and --tile-overlap) are coded in overlapping tiles; tile=0
    codes whole frames.
    """

    def __init__(self, config: TokenizerConfig):
        super().__init__()
        config.validate()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.quantizer = (LookupFreeQuantizer(config.bits) if config.quantizer_kind == "lfq"
                          else VectorQuantizer(config.codebook_size, config.latent_channels))
        self.tile, self.tile_overlap = 320, 32

    # Parameter names are Magvit's (encoder.*, decoder.*) but for VQ's codebook: Magvit's
    # quantize.codebook.weight is quantizer.codebook.weight here (quantize is a method).
    @staticmethod
    def magvit_name(name):
        """The checkpoint name of a parameter of this module's state_dict."""
        return "quantize." + name[len("quantizer."):] if name.startswith("quantizer.") else name

    # ------------------------------------------------------------ the model on clips

    def _per_frame(self, x, body):
        """For image tokenizers: frames go through as a batch of images (B·T, C, 1, H, W)."""
        b, t = x.shape[0], x.shape[2]
        if not self.config.is_per_frame or t == 1:
            return body(x)
        y = body(x.transpose(1, 2).reshape(b * t, x.shape[1], 1, x.shape[3], x.shape[4]))
        return y.reshape(b, t, y.shape[1], y.shape[3], y.shape[4]).transpose(1, 2)

    def _check_clip(self, x):
        c = self.config
        if x.dim() == 4:
            x = x.unsqueeze(2)
        if x.dim() != 5:
            raise ValueError(f"expected (B, C, T, H, W) frames or (B, C, H, W) images, got shape {tuple(x.shape)}")
        _, ch, t, h, w = x.shape
        if ch != c.image_channels:
            raise ValueError(f"{c.name} takes {c.image_channels} channels, got {ch} (shape {tuple(x.shape)})")
        if t < 1 or (t - 1) % c.temporal_factor:
            raise ValueError(f"{c.name} takes 1 + k·{c.temporal_factor} frames, got {t}")
        f = c.spatial_factor
        if h <= 0 or w <= 0 or h % f or w % f:
            raise ValueError(f"{c.name} takes height and width divisible by {f}, got {h}x{w}")
        if not x.is_floating_point():
            raise ValueError(f"frames must be floating point in [-1, 1], got {x.dtype}")
        return x

    def latents(self, x):
        """Continuous encoder latents (B, d, t, h, w) of frames (B, C, T, H, W) in [-1, 1]."""
        x = self._check_clip(x).to(self._dtype)
        return self._per_frame(x, self.encoder)

    def quantize(self, latents):
        """Quantized latents: `Quantized(codes, ids)`, codes straight-through (differentiable)."""
        return self.quantizer(latents)

    def codes(self, ids):
        """The codes (B, d, t, h, w) of ids (B, t, h, w)."""
        return self.quantizer.codes(ids)

    def decode_latents(self, codes):
        """Frames (B, C, T, H, W) of quantized latents (differentiable)."""
        return self._per_frame(codes, self.decoder)

    def reconstruct(self, x):
        """encode -> quantize -> decode in one differentiable pass."""
        q = self.quantize(self.latents(x))
        return self.decode_latents(q.codes), q

    @torch.no_grad()
    def encode_clip(self, x):
        """Token ids (B, t, h, w) of frames (B, C, T, H, W) in [-1, 1] (VideoTokenizer.encode)."""
        x = self._check_clip(x)
        f = self.config.spatial_factor
        spans = self._tile_spans(x.shape[3] // f, x.shape[4] // f)
        if spans is None:
            return self.quantizer.ids(self.latents(x))
        rows, columns = spans
        out_rows = []
        for (rw, rc) in rows:
            pieces = []
            for (cw, cc) in columns:
                window = x[:, :, :, rw[0] * f:rw[1] * f, cw[0] * f:cw[1] * f]
                ids = self.quantizer.ids(self.latents(window))
                pieces.append(ids[:, :, rc[0] - rw[0]:rc[1] - rw[0], cc[0] - cw[0]:cc[1] - cw[0]])
            out_rows.append(torch.cat(pieces, 3))
        return torch.cat(out_rows, 2)

    @torch.no_grad()
    def decode_clip(self, ids):
        """Frames (B, C, T, H, W) in about [-1, 1] of ids (B, t, h, w) (VideoTokenizer.decode)."""
        self._check_ids(ids, rank=4)
        codes = self.codes(ids.to(self._device)).to(self._dtype)
        spans = self._tile_spans(codes.shape[3], codes.shape[4])
        if spans is None:
            return self.decode_latents(codes)
        rows, columns = spans
        f, (h, w) = self.config.spatial_factor, codes.shape[3:]
        total = None
        weights = torch.zeros(h * f, w * f, dtype=codes.dtype, device=codes.device)
        for (rw, _) in rows:
            row_ramp = _ramp(rw, h, f, self.tile_overlap).reshape(-1, 1)
            for (cw, _) in columns:
                y = self.decode_latents(codes[:, :, :, rw[0]:rw[1], cw[0]:cw[1]])  # (B, C, T, th, tw)
                if total is None:
                    total = torch.zeros(*y.shape[:3], h * f, w * f, dtype=y.dtype, device=y.device)
                weight = (row_ramp * _ramp(cw, w, f, self.tile_overlap).reshape(1, -1)).to(y.dtype).to(y.device)
                total[:, :, :, rw[0] * f:rw[1] * f, cw[0] * f:cw[1] * f].add_(y * weight)
                weights[rw[0] * f:rw[1] * f, cw[0] * f:cw[1] * f].add_(weight)
        return total / weights

    def _tile_spans(self, h, w):
        if not self.tile:
            return None
        f = self.config.spatial_factor
        tile, overlap = self.tile, self.tile_overlap
        if tile <= 0 or overlap < 0 or tile % f or overlap % f or tile <= 2 * overlap:
            raise ValueError(f"tiles must be positive multiples of {f} pixels larger than twice the overlap "
                             f"(a multiple of {f} too); got {tile} and {overlap}")
        tile, margin = tile // f, overlap // f
        if h <= tile and w <= tile:
            return None
        return _spans(h, tile, margin), _spans(w, tile, margin)

    def _check_ids(self, ids, rank):
        if not isinstance(ids, torch.Tensor) or ids.dim() != rank:
            shape = tuple(ids.shape) if isinstance(ids, torch.Tensor) else type(ids).__name__
            raise ValueError(f"expected ids {'(B, t, h, w)' if rank == 4 else '(t, h, w) or (B, t, h, w)'}, got {shape}")
        if ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"token ids must be integers (int64 or int32), got {ids.dtype}")
        if ids.numel():
            low, high = int(ids.min()), int(ids.max())
            if low < 0 or high >= self.config.codebook_size:
                raise ValueError(f"ids must be in 0..<{self.config.codebook_size}, found {low}...{high}")

    @property
    def _device(self):
        return self.encoder.conv_in.weight.device

    @property
    def _dtype(self):
        return self.encoder.conv_in.weight.dtype

    # ------------------------------------------------------------ whole videos, as the tool does

    @property
    def latent_frames_per_clip(self):
        c = self.config
        return 1 + (c.clip_frames - 1) // c.temporal_factor

    @torch.no_grad()
    def encode(self, frames):
        """Token ids (t, h, w), or (B, t, h, w) for a batch, of uint8 frames (T, H, W, C) or (B, T, H, W, C),
        exactly as `magvit encode` computes them: clips of the model's clip length (17 frames for the
        shipped model) each coded alone, the last padded by repeating its last frame up to a length the
        model takes; pixels p map to p / 255 · 2 − 1. Frames must already be of a size divisible by the
        model's spatial factor (the tool crops the centre to such a size)."""
        c = self.config
        batched = self._check_frames(frames)
        x = frames if batched else frames.unsqueeze(0)
        ids = []
        for start in range(0, x.shape[1], c.clip_frames):
            clip = x[:, start:start + c.clip_frames].to(self._device)
            count = clip.shape[1]
            clip = clip.float() / 255  # as the reader gives frames, float32 in [0, 1]
            valid = 1 + ((count - 1 + c.temporal_factor - 1) // c.temporal_factor) * c.temporal_factor
            if valid > count:
                clip = torch.cat([clip, clip[:, -1:].expand(-1, valid - count, -1, -1, -1)], 1)
            ids.append(self.encode_clip((clip.permute(0, 4, 1, 2, 3) * 2 - 1).contiguous()))
        ids = torch.cat(ids, 1)
        return ids if batched else ids[0]

    @torch.no_grad()
    def decode(self, ids, frames=None, chunks=None, dtype=torch.uint8):
        """Frames (T, H, W, C), or (B, T, H, W, C) for a batch, of ids (t, h, w) or (B, t, h, w), as
        `magvit decode` writes them: clip by clip (each `latent_frames_per_clip` latent frames, the
        last one what remains), uint8 by rounding (x + 1) / 2 · 255 clamped. `frames` keeps only that
        many frames (drops the last clip's padding); `chunks`, a token file's list of
        {"frames", "latentFrames"}, decodes by its clips instead. dtype=torch.float32 returns the
        frames in [0, 1] before rounding."""
        if not isinstance(ids, torch.Tensor) or ids.dim() not in (3, 4):
            self._check_ids(ids, rank=3)
        batched = ids.dim() == 4
        x = ids if batched else ids.unsqueeze(0)
        if chunks is None:
            per, t = self.latent_frames_per_clip, x.shape[1]
            chunks = [{"latentFrames": min(per, t - s), "frames": None} for s in range(0, t, per)]
        elif sum(ch["latentFrames"] for ch in chunks) != x.shape[1]:
            raise ValueError(f"chunks add up to {sum(ch['latentFrames'] for ch in chunks)} latent frames, the ids have {x.shape[1]}")
        out, offset = [], 0
        for chunk in chunks:
            video = self.decode_clip(x[:, offset:offset + chunk["latentFrames"]])
            offset += chunk["latentFrames"]
            clip = ((video.permute(0, 2, 3, 4, 1) + 1) / 2).clamp(0, 1)  # (B, T, H, W, C) in [0, 1]
            out.append(clip if chunk["frames"] is None else clip[:, :chunk["frames"]])
        video = torch.cat(out, 1)
        if frames is not None:
            if frames > video.shape[1]:
                raise ValueError(f"{frames} frames asked, the ids decode to {video.shape[1]}")
            video = video[:, :frames]
        if dtype == torch.uint8:
            video = (video * 255).round().clamp(0, 255).to(torch.uint8)
        elif dtype is not None:
            video = video.to(dtype)
        return video if batched else video[0]

    def _check_frames(self, frames):
        c = self.config
        if not isinstance(frames, torch.Tensor):
            raise TypeError(f"frames must be a torch.Tensor of uint8 (T, H, W, {c.image_channels}), got {type(frames).__name__}"
                            " (torch.from_numpy turns a numpy array into one)")
        if frames.dim() not in (4, 5) or frames.shape[-1] != c.image_channels:
            raise ValueError(f"frames must be (T, H, W, {c.image_channels}) or (B, T, H, W, {c.image_channels}), got {tuple(frames.shape)}")
        if frames.dtype != torch.uint8:
            raise ValueError(f"frames must be uint8 (0...255, as read from a video), got {frames.dtype}; "
                             "for floats in [-1, 1] shaped (B, C, T, H, W) use encode_clip")
        h, w, f = frames.shape[-3], frames.shape[-2], c.spatial_factor
        if h % f or w % f or h == 0 or w == 0:
            raise ValueError(f"{c.name} takes frames whose height and width are divisible by {f}, got {h}x{w} "
                             f"(crop the centre to {h // f * f}x{w // f * f}, as magvit encode does)")
        if frames.shape[-4] == 0:
            raise ValueError("no frames")
        return frames.dim() == 5
