"""Where a tokenizer's error sits (docs/training.md "Where the error is"): reads the side-by-side Y4M
that `magvit reconstruct -o OUT.y4m` writes (original left, reconstruction right) and splits the luma
MSE into the error of each 8x8 block's mean (what the block-mean floor codes almost exactly) and the
error within blocks, beside what exact 8x8 block means of each frame alone would score (a reference,
not the floor: that codes 4x8x8 means at 6 bits and plays them back bilinearly); luma in full range; prints the mean luma offset, the contrast kept (the least-squares slope of
reconstructed against original luma, Var(reconstruction) / Var(original) for an
estimator that is unbiased given its code: 1 is all of it) and the offset by band of original luma.
    magvit reconstruct CLIP --max-frames 17 --checkpoint CKPT -o /tmp/side.y4m
    python3 scripts/error-bands.py /tmp/side.y4m [...]
"""
import sys

import numpy as np


CHROMA = {"420": (2, 2), "420jpeg": (2, 2), "420mpeg2": (2, 2), "420paldv": (2, 2), "422": (2, 1), "444": (1, 1), "mono": None}


def luma_frames(path):
    """The Y planes (T, H, W) of an 8-bit Y4M file, in full range (0-255) also when the file says
    XCOLORRANGE=LIMITED (as `magvit reconstruct` writes it): (Y - 16) * 255 / 219."""
    data = open(path, "rb").read()
    end = data.index(b"\n")
    fields = data[:end].split()
    if fields[:1] != [b"YUV4MPEG2"]:
        sys.exit(f"{path}: not a Y4M file")
    tags = {t[:1].decode(): t[1:].decode() for t in fields[1:]}
    width, height, chroma = int(tags["W"]), int(tags["H"]), tags.get("C", "420")
    if chroma not in CHROMA:
        sys.exit(f"{path}: 8-bit Y4M with chroma {', '.join(CHROMA)} expected, got C{chroma}")
    frame = width * height
    if CHROMA[chroma]:
        sx, sy = CHROMA[chroma]
        frame += 2 * (-(-width // sx)) * (-(-height // sy))
    frames, pos = [], end + 1
    while pos < len(data):
        if not data.startswith(b"FRAME", pos):
            sys.exit(f"{path}: frame {len(frames)} does not start with FRAME (truncated or another layout)")
        pos = data.index(b"\n", pos) + 1
        if pos + frame > len(data):
            sys.exit(f"{path}: frame {len(frames)} is truncated")
        frames.append(np.frombuffer(data[pos:pos + width * height], np.uint8).reshape(height, width))
        pos += frame
    y = np.stack(frames).astype(np.float64)
    if b"XCOLORRANGE=LIMITED" in fields:
        y = (y - 16) * 255 / 219
    return y


def block_means(x):
    t, h, w = x.shape
    return x.reshape(t, h // 8, 8, w // 8, 8).mean((2, 4)).repeat(8, 1).repeat(8, 2)


def report(path):
    y = luma_frames(path)
    half = y.shape[2] // 2
    h, w = y.shape[1] // 8 * 8, half // 8 * 8
    original, reconstruction = y[:, :h, :w], y[:, :h, half:half + w]
    error = original - reconstruction
    block = block_means(original) - block_means(reconstruction)
    mse, block_mse, within = (error ** 2).mean(), (block ** 2).mean(), ((error - block) ** 2).mean()
    centred = original - original.mean()

    def kept(x):  # the least-squares slope of x against the original
        return (centred * (x - x.mean())).sum() / (centred ** 2).sum()

    means = block_means(original)
    print(f"{path}: {y.shape[0]} frames, luma PSNR {10 * np.log10(255 ** 2 / mse):.2f} dB; MSE {mse:.1f} = "
          f"8x8 block means {block_mse:.1f} ({100 * block_mse / mse:.0f} %) + within blocks {within:.1f}; "
          f"offset {error.mean():+.1f}; contrast kept {kept(reconstruction):.2f}")
    print(f"  exact 8x8 block means alone: MSE {((original - means) ** 2).mean():.1f} "
          f"(PSNR {10 * np.log10(255 ** 2 / ((original - means) ** 2).mean()):.2f} dB), contrast kept {kept(means):.2f}")
    edges = [0, 32, 64, 96, 128, 160, 192, 224, 256]
    bands = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (original >= lo) & (original < hi) if hi < 256 else (original >= lo)
        if inside.mean() >= 0.01:
            bands.append(f"[{lo},{hi}) {100 * inside.mean():.0f} %: {error[inside].mean():+.1f}")
    print("  offset (original - reconstruction) by original luma: " + "; ".join(bands))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    with np.errstate(divide="ignore", invalid="ignore"):  # a perfect reconstruction: inf dB, no shares
        for p in sys.argv[1:]:
            report(p)
