"""The token file (.mgvt) that `magvit encode` writes (docs/media.md, Sources/Codec/TokenFile.swift).

Little-endian: magic "MAGVITOK", u16 version (1), u16 flags (0), u32 header length N, N bytes of JSON
header, the ids packed at `bits` bits each least significant bit first in (t, h, w) row-major order,
and a CRC-32 (zlib's) of every byte before it. Checked as the Swift reader checks: framing and
checksum first, then the header's fields against each other and the payload's length.
"""
import json
import os
import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC, VERSION = b"MAGVITOK", 1


class TokenFileError(ValueError):
    """A file that is not a valid Magvit token file; the message says what does not fit."""


@dataclass
class TokenFile:
    ids: np.ndarray   # int64 (t, h, w)
    header: dict      # the JSON header: tokenizer {name, config, weights}, bits, t, h, w, chunks, source

    @property
    def chunks(self):
        """The clips, each coded alone: [{"frames", "latentFrames"}, ...]."""
        return self.header["chunks"]

    @property
    def frames(self):
        """Real frames of the video (the last clip's padding not counted)."""
        return sum(c["frames"] for c in self.chunks)


def read_token_file(path):
    """The ids and header of a token file; raises TokenFileError naming the path and the problem."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise TokenFileError(f"{path}: no such file")
    with open(path, "rb") as f:
        data = f.read()
    try:
        return decode_token_file(data)
    except TokenFileError as e:
        raise TokenFileError(f"{path}: {e}") from None


def decode_token_file(data):
    if len(data) < 20:
        raise TokenFileError(f"not a token file: {len(data)} bytes, expected at least 20")
    if data[:8] != MAGIC:
        raise TokenFileError("not a token file: it does not start with MAGVITOK")
    version, flags, length = struct.unpack_from("<HHI", data, 8)
    if version != VERSION:
        raise TokenFileError(f"token file version {version} is not supported (this reader reads version {VERSION})")
    if flags != 0:
        raise TokenFileError(f"token file flags 0x{flags:x} are not known to this reader (expected 0)")
    if zlib.crc32(data[:-4]) != struct.unpack_from("<I", data, len(data) - 4)[0]:
        raise TokenFileError("token file is corrupt or truncated (checksum mismatch)")
    if length > len(data) - 20:
        raise TokenFileError(f"header length {length} exceeds the file")
    try:
        header = json.loads(data[16:16 + length].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TokenFileError(f"token file header is not valid: {e}") from None
    _validate(header)
    payload = data[16 + length:-4]
    t, h, w, bits = header["t"], header["h"], header["w"], header["bits"]
    count = t * h * w
    if len(payload) != (count * bits + 7) // 8:
        raise TokenFileError(f"payload of {len(payload)} bytes does not hold {t}x{h}x{w} ids of {bits} bits")
    return TokenFile(unpack(payload, count, bits).reshape(t, h, w), header)


def unpack(payload, count, bits):
    """`count` ids of `bits` bits each, packed least significant bit first."""
    stream = np.unpackbits(np.frombuffer(payload, dtype=np.uint8), bitorder="little")[:count * bits]
    weights = np.left_shift(np.int64(1), np.arange(bits, dtype=np.int64))
    return stream.reshape(count, bits).astype(np.int64) @ weights


def _validate(header):
    """The checks of TokenFile.Header.validate() that a reader needs, with the field named."""
    def require(ok, message):
        if not ok:
            raise TokenFileError(message)
    try:
        bits, t, h, w, chunks = header["bits"], header["t"], header["h"], header["w"], header["chunks"]
        config = header["tokenizer"]["config"]
        source = header["source"]
    except (KeyError, TypeError) as e:
        raise TokenFileError(f"token file header is not valid: no field {e}") from None
    ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (bits, t, h, w))
    require(ints, "token file header is not valid: bits, t, h and w must be integers")
    require(1 <= bits <= 30, f"bits must be 1...30, found {bits}")
    require(1 <= t <= 1 << 24, f"grid t (latent frames) must be 1...{1 << 24}, found {t}")
    require(1 <= h <= 1 << 16 and 1 <= w <= 1 << 16, f"grid h and w must be 1...{1 << 16}, found {h}x{w}")
    require(isinstance(chunks, list) and 1 <= len(chunks) <= t, f"chunks must number 1...t ({t})")
    temporal = 1 << config.get("temporalDownsamplings", 0)
    latent = 0
    for i, chunk in enumerate(chunks):
        lf, frames = chunk.get("latentFrames"), chunk.get("frames")
        require(isinstance(lf, int) and 1 <= lf <= 1 << 24, f"chunk {i}: latentFrames must be 1...{1 << 24}, found {lf}")
        most = 1 + (lf - 1) * temporal
        require(isinstance(frames, int) and 1 <= frames <= most, f"chunk {i}: frames must be 1...{most} for {lf} latent frames, found {frames}")
        latent += lf
    require(latent == t, f"chunks add up to {latent} latent frames, the grid has {t}")
    q = config.get("quantizer", {})
    require(bits == q.get("bits", 18), f"bits {bits} differ from the tokenizer's {q.get('bits', 18)}")
    factor = 1 << (len(config.get("channelMultipliers", [1, 2, 2, 4])) - 1)
    require(source.get("tokenizedWidth") == w * factor and source.get("tokenizedHeight") == h * factor,
            f"source.tokenized size {source.get('tokenizedWidth')}x{source.get('tokenizedHeight')} is not the grid {w}x{h} times {factor}")
