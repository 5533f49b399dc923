// The pre-norm transformer block shared by the masked token model and the video classifier.
import Torch

/// Pre-norm transformer block: x + attention(LN(x)), then x + MLP(LN(x)) with a GELU.
public final class TransformerBlock {
    public let norm1: LayerNorm, norm2: LayerNorm
    public let attention: MultiHeadAttention
    public let up: Linear, down: Linear

    public init(_ path: ParameterPath, width: Int, heads: Int, mlpRatio: Int) throws {
        norm1 = try LayerNorm(path("norm1"), dimensions: width)
        norm2 = try LayerNorm(path("norm2"), dimensions: width)
        attention = try MultiHeadAttention(path("attention"), dimensions: width, heads: heads)
        up = try Linear(path("mlp_up"), inputFeatures: width, outputFeatures: width * mlpRatio)
        down = try Linear(path("mlp_down"), inputFeatures: width * mlpRatio, outputFeatures: width)
    }

    /// `causal`: each position attends to itself and the positions before it only (autoregressive models).
    public func callAsFunction(_ x: Tensor, dropout p: Double, training: Bool, causal: Bool = false) throws -> Tensor {
        var h = try x + dropout(attention(norm1(x), causal: causal, dropout: p), p: p, training: training)
        h = try h + dropout(down(up(norm2(h)).gelu()), p: p, training: training)
        return h
    }
}
