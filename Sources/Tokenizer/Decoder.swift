// The decoder (MAGVIT-v2 §3.2): conv in, residual middle, then per level an adaptive group norm
// conditioned on the quantized latents, residual blocks and depth-to-space upsampling.
import NN
import Torch

public final class Decoder {
    public let config: TokenizerConfig
    let convIn: CausalConv3d
    let middle: [ResBlock]
    /// Indexed by level, 0 = finest; run from the coarsest down.
    let adaptive: [AdaptiveGroupNorm]
    let levels: [(blocks: [ResBlock], upsample: Upsampler?)]
    let normOut: FrameGroupNorm
    let convOut: CausalConv3d

    /// Parameter names follow Open-MAGVIT2 (`conv_in`, `mid_block.j`, `adaptive.i`, `up.i.block.j`,
    /// `up.i.upsample.conv1`, `norm_out`, `conv_out`).
    public init(_ path: ParameterPath, config: TokenizerConfig) throws {
        self.config = config
        let c = config
        let k = (c.temporalKernel, 3, 3)
        let count = c.channelMultipliers.count
        var channels = c.baseChannels * c.channelMultipliers[count - 1]
        let d = c.quantizer.latentChannels
        convIn = try CausalConv3d(path("conv_in"), inputChannels: d, outputChannels: channels, kernel: k, temporalPadding: c.temporalPadding)
        middle = try (0..<c.residualBlocks).map { try ResBlock(path("mid_block")($0), inputChannels: channels, outputChannels: channels, config: c) }
        var adaptive: [AdaptiveGroupNorm?] = Array(repeating: nil, count: count)
        var levels: [(blocks: [ResBlock], upsample: Upsampler?)?] = Array(repeating: nil, count: count)
        for i in stride(from: count - 1, through: 0, by: -1) {
            adaptive[i] = try AdaptiveGroupNorm(path("adaptive")(i), latentChannels: d, channels: channels, groups: c.normGroups)
            let out = c.baseChannels * c.channelMultipliers[i]
            var blocks: [ResBlock] = []
            for j in 0..<c.residualBlocks {
                blocks.append(try ResBlock(path("up")(i)("block")(j), inputChannels: channels, outputChannels: out, config: c))
                channels = out
            }
            channels = out
            // Upsampling out of level i mirrors the encoder's downsampling into it.
            let temporal = i >= count - c.temporalDownsamplings ? 2 : 1
            let upsample = i > 0 ? try Upsampler(path("up")(i)("upsample"), channels: channels, temporalFactor: temporal, config: c) : nil
            levels[i] = (blocks, upsample)
        }
        self.adaptive = adaptive.map { $0! }
        self.levels = levels.map { $0! }
        normOut = try FrameGroupNorm(path("norm_out"), groups: c.normGroups, channels: channels)
        convOut = try CausalConv3d(path("conv_out"), inputChannels: channels, outputChannels: c.imageChannels, kernel: k, temporalPadding: c.temporalPadding)
    }

    /// (B, d, t, h, w) quantized latents → (B, C, T, H, W) frames.
    public func callAsFunction(_ z: Tensor) throws -> Tensor {
        var h = try convIn(z)
        for block in middle { h = try block(h) }
        for i in stride(from: levels.count - 1, through: 0, by: -1) {
            h = try adaptive[i](h, style: z)
            for block in levels[i].blocks { h = try block(h) }
            if let up = levels[i].upsample { h = try up(h) }
        }
        return try convOut(normOut(h).silu())
    }
}
