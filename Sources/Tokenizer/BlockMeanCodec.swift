// The floor a tokenizer must clear: a trivial codec that spends a token's bits on the mean colour of
// the token's block of pixels (issue 31). A video tokenizer with a first frame kept alone, t× temporal
// and f× spatial downsampling and b bits a token codes each f×f block of the first frame, and each
// f×f×t block after it, in b bits; this codec sends those blocks' mean colours at b / channels bits a
// channel (18 bits: 6 a channel) and plays them back upsampled bilinearly in space, held in time. A
// learned tokenizer that reconstructs worse than this has not learned to use its bits.
import Torch

public struct BlockMeanCodec: Sendable {
    public let temporalFactor: Int
    public let spatialFactor: Int
    public let bitsPerChannel: Int
    public let channels: Int

    public init(temporalFactor: Int, spatialFactor: Int, bitsPerChannel: Int, channels: Int = 3) {
        (self.temporalFactor, self.spatialFactor, self.bitsPerChannel, self.channels) = (temporalFactor, spatialFactor, bitsPerChannel, channels)
    }

    /// The codec with a tokenizer's block shape and bits a block (its rate, to the bit when the
    /// bits divide by the channels: 18 bits of RGB are 6 a channel).
    public init(matching config: TokenizerConfig) {
        self.init(temporalFactor: config.temporalFactor, spatialFactor: config.spatialFactor,
                  bitsPerChannel: Swift.max(1, config.quantizer.bits / config.imageChannels), channels: config.imageChannels)
    }

    /// Bits of one block.
    public var bitsPerBlock: Int { bitsPerChannel * channels }

    /// Bits of a clip of `frames` frames of height × width (first frame alone, as the tokenizer codes it).
    public func bits(frames: Int, height: Int, width: Int) -> Int {
        let blocks = 1 + (frames - 1 + temporalFactor - 1) / temporalFactor
        return blocks * (height / spatialFactor) * (width / spatialFactor) * bitsPerBlock
    }

    /// Bits per pixel of a clip of `frames` frames.
    public func bitsPerPixel(frames: Int) -> Double {
        Double(bits(frames: frames, height: spatialFactor, width: spatialFactor)) / Double(frames * spatialFactor * spatialFactor)
    }

    /// Codes and decodes one clip's frames (T, H, W, C) in [0, 1], H and W multiples of the spatial
    /// factor: the first frame alone, then groups of `temporalFactor` frames (the last may be shorter).
    public func reconstruct(_ frames: Tensor) throws -> Tensor {
        let (t, h, w) = (frames.size(0), frames.size(1), frames.size(2))
        guard frames.rank == 4, h % spatialFactor == 0, w % spatialFactor == 0, t >= 1 else {
            throw TokenizerError.invalidInput("block-mean codec: frames (T, H, W, C) with H and W multiples of \(spatialFactor), got \(frames.shape)")
        }
        let x = try frames.to(.float32).permute([3, 0, 1, 2])  // (C, T, H, W)
        let levels = Double((1 << bitsPerChannel) - 1)
        var groups: [Tensor] = []
        var start = 0
        while start < t {
            let length = start == 0 ? 1 : Swift.min(temporalFactor, t - start)
            let mean = try x.narrow(1, start: start, length: length).mean([1]).unsqueeze(0)  // (1, C, H, W)
            let blocks = try avgPool(mean, kernel: [spatialFactor, spatialFactor])  // (1, C, H/f, W/f)
            let coded = try (blocks * levels).round() / levels
            let frame = try interpolate(coded, size: [h, w], mode: .linear).squeeze(0)  // (C, H, W)
            groups.append(try frame.unsqueeze(1).expand([frames.size(3), length, h, w]))
            start += length
        }
        return try concatenate(groups, dim: 1).permute([1, 2, 3, 0]).clamp(min: 0, max: 1).contiguous()  // (T, H, W, C)
    }
}
