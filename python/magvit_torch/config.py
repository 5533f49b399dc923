"""A Magvit tokenizer's configuration, read from the `magvit.config` metadata of its checkpoint.

Mirrors Sources/Tokenizer/Configuration.swift (TokenizerConfig, QuantizerConfig): the same fields,
defaults and checks, and the flat quantizer layout of checkpoints written before the per-kind sections.
"""
import json
from dataclasses import dataclass, field


class ConfigError(ValueError):
    """A checkpoint's configuration that this package cannot build a model from."""


@dataclass(frozen=True)
class TokenizerConfig:
    name: str
    image_channels: int = 3
    base_channels: int = 128
    channel_multipliers: tuple = (1, 2, 2, 4)
    residual_blocks: int = 4
    norm_groups: int = 32
    temporal_downsamplings: int = 0
    temporal_kernel: int = 3
    temporal_padding: str = "zeros"
    normalize_latents: bool = False
    quantizer_kind: str = "lfq"
    bits: int = 18
    vq_latent_channels: int = 0
    clip_frames: int = 1
    resolution: int = 128
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def spatial_factor(self):
        return 1 << (len(self.channel_multipliers) - 1)

    @property
    def temporal_factor(self):
        return 1 << self.temporal_downsamplings

    @property
    def latent_channels(self):
        if self.quantizer_kind == "vq" and self.vq_latent_channels > 0:
            return self.vq_latent_channels
        return self.bits

    @property
    def codebook_size(self):
        return 1 << self.bits

    @property
    def is_per_frame(self):
        """No layer mixes frames: a video goes through as a batch of images."""
        return self.temporal_kernel == 1 and self.temporal_downsamplings == 0

    def token_grid(self, frames, height, width):
        return 1 + (frames - 1) // self.temporal_factor, height // self.spatial_factor, width // self.spatial_factor

    @classmethod
    def from_json(cls, text):
        try:
            c = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"the config is not JSON: {e}") from None
        if not isinstance(c, dict) or "name" not in c:
            raise ConfigError("the config is not a Magvit TokenizerConfig (no 'name')")
        q = c.get("quantizer", {})
        vq = q.get("vq")
        if vq is None and "lfq" not in q:  # the flat layout of older checkpoints
            width = q.get("latentChannels", q.get("bits", 18))
            vq_width = 0 if width == q.get("bits", 18) else width
        else:
            vq_width = (vq or {}).get("latentChannels", 0)
        config = cls(
            name=c["name"],
            image_channels=c.get("imageChannels", 3),
            base_channels=c.get("baseChannels", 128),
            channel_multipliers=tuple(c.get("channelMultipliers", (1, 2, 2, 4))),
            residual_blocks=c.get("residualBlocks", 4),
            norm_groups=c.get("normGroups", 32),
            temporal_downsamplings=c.get("temporalDownsamplings", 0),
            temporal_kernel=c.get("temporalKernel", 3),
            temporal_padding=c.get("temporalPadding", "zeros"),
            normalize_latents=c.get("normalizeLatents", False),
            quantizer_kind=q.get("kind", "lfq"),
            bits=q.get("bits", 18),
            vq_latent_channels=vq_width,
            clip_frames=c.get("clipFrames", 1),
            resolution=c.get("resolution", 128),
            raw=c,
        )
        config.validate()
        return config

    def validate(self):
        """The checks of TokenizerConfig.validate(), with the same words."""
        def fail(message):
            raise ConfigError(f"{self.name}: {message}")
        m = self.channel_multipliers
        if not (1 <= len(m) <= 8 and all(1 <= x <= 64 for x in m)):
            fail(f"channelMultipliers must be 1 to 8 levels of 1...64, got {list(m)}")
        if not (1 <= self.base_channels <= 4096 and 0 <= self.residual_blocks <= 64
                and 1 <= self.image_channels <= 16 and self.norm_groups >= 1):
            fail("baseChannels (1...4096), residualBlocks (0...64), imageChannels (1...16) and normGroups (≥ 1) are out of range")
        for x in m:
            if (self.base_channels * x) % self.norm_groups:
                fail(f"{self.base_channels * x} channels are not divisible into {self.norm_groups} norm groups")
        if not 0 <= self.temporal_downsamplings <= len(m) - 1:
            fail(f"temporalDownsamplings must be between 0 and {len(m) - 1}, got {self.temporal_downsamplings}")
        if self.temporal_kernel < 1:
            fail("temporalKernel must be at least 1")
        if self.temporal_padding not in ("zeros", "replicate"):
            fail(f"temporalPadding must be zeros or replicate, got {self.temporal_padding!r}")
        if self.clip_frames < 1 or (self.clip_frames - 1) % self.temporal_factor:
            fail(f"clipFrames must be 1 + a multiple of {self.temporal_factor}, got {self.clip_frames}")
        if not 1 <= self.bits <= 30:
            fail(f"quantizer bits must be 1...30, got {self.bits}")
        if self.quantizer_kind != "lfq":
            fail(f"quantizer kind {self.quantizer_kind!r} is not supported by magvit_torch (only lfq)")
