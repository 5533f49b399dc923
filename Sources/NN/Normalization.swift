// Group normalisation (Wu & He 2018) and layer normalisation (Ba et al. 2016).
import Torch

/// Normalises (N, C, ...) per sample over groups of C/groups channels, then scales and shifts per channel.
public final class GroupNorm {
    public let groups: Int
    public let eps: Double
    public let weight: Tensor?
    public let bias: Tensor?

    public init(_ path: ParameterPath, groups: Int, channels: Int, eps: Double = 1e-6, affine: Bool = true) throws {
        guard groups > 0, channels % groups == 0 else {
            throw ParameterError("\(path.prefix): \(channels) channels cannot be split into \(groups) groups")
        }
        self.groups = groups
        self.eps = eps
        weight = affine ? try path.parameter("weight", shape: [channels], initializer: .ones) : nil
        bias = affine ? try path.parameter("bias", shape: [channels], initializer: .zeros) : nil
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps)
    }
}

/// Normalises over the last dimension, then scales and shifts.
public final class LayerNorm {
    public let dimensions: Int
    public let eps: Double
    public let weight: Tensor?
    public let bias: Tensor?

    public init(_ path: ParameterPath, dimensions: Int, eps: Double = 1e-5, affine: Bool = true, bias: Bool = true) throws {
        self.dimensions = dimensions
        self.eps = eps
        weight = affine ? try path.parameter("weight", shape: [dimensions], initializer: .ones) : nil
        self.bias = affine && bias ? try path.parameter("bias", shape: [dimensions], initializer: .zeros) : nil
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try layerNorm(x, normalizedShape: [dimensions], weight: weight, bias: bias, eps: eps)
    }
}
