// The encoder (MAGVIT-v2 §3.2): causal conv in, residual levels with learned strided downsampling
// (time is halved only in the last levels), residual middle, norm, swish, 1×1×1 conv to the latents.
import NN
import Torch

public final class Encoder {
    public let config: TokenizerConfig
    let convIn: CausalConv3d
    let levels: [(blocks: [ResBlock], downsample: CausalConv3d?)]
    let middle: [ResBlock]
    let normOut: FrameGroupNorm
    let convOut: CausalConv3d
    let latentNorm: FrameGroupNorm?

    /// Parameter names follow Open-MAGVIT2 (`conv_in`, `down.i.block.j`, `down.i.downsample`,
    /// `mid_block.j`, `norm_out`, `conv_out`) so its checkpoints map one to one.
    public init(_ path: ParameterPath, config: TokenizerConfig) throws {
        self.config = config
        let c = config
        let k = (c.temporalKernel, 3, 3)
        convIn = try CausalConv3d(path("conv_in"), inputChannels: c.imageChannels, outputChannels: c.baseChannels, kernel: k, bias: false, temporalPadding: c.temporalPadding)
        var levels: [(blocks: [ResBlock], downsample: CausalConv3d?)] = []
        var channels = c.baseChannels
        let count = c.channelMultipliers.count
        for (i, multiplier) in c.channelMultipliers.enumerated() {
            let out = c.baseChannels * multiplier
            var blocks: [ResBlock] = []
            for j in 0..<c.residualBlocks {
                blocks.append(try ResBlock(path("down")(i)("block")(j), inputChannels: channels, outputChannels: out, config: c))
                channels = out
            }
            var downsample: CausalConv3d?
            if i < count - 1 {
                // The last `temporalDownsamplings` of the count − 1 downsamplings also stride in time.
                let temporal = i >= count - 1 - c.temporalDownsamplings ? 2 : 1
                downsample = try CausalConv3d(path("down")(i)("downsample"), inputChannels: out, outputChannels: out, kernel: k,
                                              stride: (temporal, 2, 2), temporalPadding: c.temporalPadding)
            }
            channels = out
            levels.append((blocks, downsample))
        }
        self.levels = levels
        middle = try (0..<c.residualBlocks).map { try ResBlock(path("mid_block")($0), inputChannels: channels, outputChannels: channels, config: c) }
        normOut = try FrameGroupNorm(path("norm_out"), groups: c.normGroups, channels: channels)
        convOut = try CausalConv3d(path("conv_out"), inputChannels: channels, outputChannels: c.quantizer.latentChannels, kernel: (1, 1, 1))
        latentNorm = c.normalizeLatents
            ? try FrameGroupNorm(path("latent_norm"), groups: gcd(c.normGroups, c.quantizer.latentChannels), channels: c.quantizer.latentChannels, affine: false)
            : nil
    }

    /// (B, C, T, H, W) frames in [-1, 1] → (B, d, t, h, w) continuous latents.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = try convIn(x)
        for level in levels {
            for block in level.blocks { h = try block(h) }
            if let down = level.downsample { h = try down(h) }
        }
        for block in middle { h = try block(h) }
        h = try convOut(normOut(h).silu())
        return try latentNorm?(h) ?? h
    }
}

func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
