// The tokenizer's building blocks (MAGVIT-v2 §3.2; Open-MAGVIT2's improved_model): per-frame group
// norm, residual block, adaptive group norm and depth-to-space upsampling.
import NN
import Torch

/// Group norm over (B, C, T, H, W) computed for each frame on its own, so that normalisation
/// statistics never carry information from later frames to earlier ones (keeps the encoder causal).
func frameGroupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Double) throws -> Tensor {
    let (b, c, t, h, w) = (x.size(0), x.size(1), x.size(2), x.size(3), x.size(4))
    if t == 1 { return try groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps) }
    let frames = try x.transpose(1, 2).reshape([b * t, c, h, w])  // (B·T, C, H, W)
    let y = try groupNorm(frames, groups: groups, weight: weight, bias: bias, eps: eps)
    return try y.reshape([b, t, c, h, w]).transpose(1, 2)
}

/// GroupNorm layer applied per frame.
public final class FrameGroupNorm {
    public let norm: GroupNorm
    public init(_ path: ParameterPath, groups: Int, channels: Int, affine: Bool = true) throws {
        norm = try GroupNorm(path, groups: groups, channels: channels, eps: 1e-6, affine: affine)
    }
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try frameGroupNorm(x, groups: norm.groups, weight: norm.weight, bias: norm.bias, eps: norm.eps)
    }
}

/// norm → swish → causal conv → norm → swish → causal conv, plus a 1×1×1 shortcut when channels change.
public final class ResBlock {
    public let norm1: FrameGroupNorm
    public let conv1: CausalConv3d
    public let norm2: FrameGroupNorm
    public let conv2: CausalConv3d
    public let shortcut: CausalConv3d?

    public init(_ path: ParameterPath, inputChannels: Int, outputChannels: Int, config: TokenizerConfig) throws {
        let k = (config.temporalKernel, 3, 3)
        norm1 = try FrameGroupNorm(path("norm1"), groups: config.normGroups, channels: inputChannels)
        conv1 = try CausalConv3d(path("conv1"), inputChannels: inputChannels, outputChannels: outputChannels, kernel: k, bias: false, temporalPadding: config.temporalPadding)
        norm2 = try FrameGroupNorm(path("norm2"), groups: config.normGroups, channels: outputChannels)
        conv2 = try CausalConv3d(path("conv2"), inputChannels: outputChannels, outputChannels: outputChannels, kernel: k, bias: false, temporalPadding: config.temporalPadding)
        shortcut = inputChannels == outputChannels ? nil :
            try CausalConv3d(path("nin_shortcut"), inputChannels: inputChannels, outputChannels: outputChannels, kernel: (1, 1, 1), bias: false)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        var h = try conv1(norm1(x).silu())
        h = try conv2(norm2(h).silu())
        return try (shortcut?(x) ?? x) + h
    }
}

/// GroupNorm without affine parameters whose scale and shift come from the quantized latents:
/// scale = Linear(std of z over t, h, w), shift = Linear(mean of z) (Open-MAGVIT2's adaptive group norm;
/// the std uses the unbiased variance plus eps, as theirs does).
public final class AdaptiveGroupNorm {
    public let groups: Int
    public let gamma: Linear
    public let beta: Linear
    let eps = 1e-6

    public init(_ path: ParameterPath, latentChannels: Int, channels: Int, groups: Int) throws {
        self.groups = groups
        gamma = try Linear(path("gamma"), inputFeatures: latentChannels, outputFeatures: channels)
        beta = try Linear(path("beta"), inputFeatures: latentChannels, outputFeatures: channels)
    }

    /// x: (B, C, T, H, W) features; style: (B, d, t, h, w) quantized latents.
    public func callAsFunction(_ x: Tensor, style: Tensor) throws -> Tensor {
        let flat = try style.flatten(start: 2)  // (B, d, t·h·w)
        let scale = try gamma((flat.variance([2]) + eps).sqrt())  // (B, C)
        let shift = try beta(flat.mean(dim: 2))
        let shape = [x.size(0), x.size(1), 1, 1, 1]
        let normalized = try frameGroupNorm(x, groups: groups, weight: nil, bias: nil, eps: eps)
        return try normalized * scale.reshape(shape) + shift.reshape(shape)
    }
}

/// Rearranges (B, C·f_t·f_h·f_w, T, H, W) into (B, C, T·f_t, H·f_h, W·f_w), the factors outermost
/// in the channel index (depth-column-row order, as Open-MAGVIT2's depth_to_space).
public func depthToSpace(_ x: Tensor, factors: (t: Int, h: Int, w: Int)) throws -> Tensor {
    let (b, c, t, h, w) = (x.size(0), x.size(1), x.size(2), x.size(3), x.size(4))
    let out = c / (factors.t * factors.h * factors.w)
    let y = try x.reshape([b, factors.t, factors.h, factors.w, out, t, h, w])
        .permute([0, 4, 5, 1, 6, 2, 7, 3])  // (B, C, T, f_t, H, f_h, W, f_w)
    return try y.reshape([b, out, t * factors.t, h * factors.h, w * factors.w])
}

/// Causal conv to C·f_t·4 channels, then depth-to-space. Temporal upsampling drops the first of the
/// frames the first latent frame expands to, so 1 + k frames become 1 + f_t·k.
public final class Upsampler {
    public let conv: CausalConv3d
    public let temporalFactor: Int

    public init(_ path: ParameterPath, channels: Int, temporalFactor: Int, config: TokenizerConfig) throws {
        self.temporalFactor = temporalFactor
        conv = try CausalConv3d(path("conv1"), inputChannels: channels, outputChannels: channels * 4 * temporalFactor,
                                kernel: (config.temporalKernel, 3, 3), temporalPadding: config.temporalPadding)
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let y = try depthToSpace(conv(x), factors: (temporalFactor, 2, 2))
        guard temporalFactor > 1 else { return y }
        return try y.narrow(2, start: temporalFactor - 1, length: y.size(2) - (temporalFactor - 1))
    }
}
