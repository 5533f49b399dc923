// Fully connected layer and embedding table.
import Torch

/// y = x Wᵀ + b over the last dimension; W is (outputFeatures, inputFeatures).
public final class Linear {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ path: ParameterPath, inputFeatures: Int, outputFeatures: Int, bias: Bool = true) throws {
        weight = try path.parameter("weight", shape: [outputFeatures, inputFeatures], initializer: .kaimingUniform(a: 5.0.squareRoot()))
        self.bias = bias ? try path.parameter("bias", shape: [outputFeatures], initializer: .fanInUniform(fanIn: inputFeatures)) : nil
    }

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try linear(x, weight: weight, bias: bias)
    }
}

/// A table of `count` learned vectors of size `dimensions`, looked up by integer ids.
public final class Embedding {
    public let weight: Tensor

    public init(_ path: ParameterPath, count: Int, dimensions: Int, initializer: Initializer = .normal(mean: 0, std: 1)) throws {
        weight = try path.parameter("weight", shape: [count, dimensions], initializer: initializer)
    }

    /// (...) int64 ids -> (..., dimensions)
    public func callAsFunction(_ ids: Tensor) throws -> Tensor {
        try embedding(ids, weight: weight)
    }
}

/// Zeroes activations with probability `p` while training, scaling the rest by 1/(1-p).
public struct Dropout: Sendable {
    public let p: Double
    public init(_ p: Double) { self.p = p }

    public func callAsFunction(_ x: Tensor, training: Bool) throws -> Tensor {
        p == 0 || !training ? x : try dropout(x, p: p, training: true)
    }
}

/// Pointwise nonlinearities by name, for configs.
public enum Activation: String, Codable, Sendable {
    case relu, gelu, silu, swish, tanh, sigmoid, leakyRelu, identity

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        switch self {
        case .relu: try x.relu()
        case .gelu: try x.gelu()
        case .silu, .swish: try x.silu()
        case .tanh: try x.tanh()
        case .sigmoid: try x.sigmoid()
        case .leakyRelu: try x.leakyRelu(0.2)
        case .identity: x
        }
    }
}
