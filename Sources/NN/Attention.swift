// Multi-head attention (Vaswani et al. 2017) over scaled_dot_product_attention.
import Torch

/// Multi-head attention with separate query, key, value and output projections.
public final class MultiHeadAttention {
    public let heads: Int
    public let query: Linear
    public let key: Linear
    public let value: Linear
    public let output: Linear

    public init(_ path: ParameterPath, dimensions: Int, heads: Int, bias: Bool = true) throws {
        guard heads > 0, dimensions % heads == 0 else {
            throw ParameterError("\(path.prefix): \(dimensions) dimensions cannot be split into \(heads) heads")
        }
        self.heads = heads
        query = try Linear(path("query"), inputFeatures: dimensions, outputFeatures: dimensions, bias: bias)
        key = try Linear(path("key"), inputFeatures: dimensions, outputFeatures: dimensions, bias: bias)
        value = try Linear(path("value"), inputFeatures: dimensions, outputFeatures: dimensions, bias: bias)
        output = try Linear(path("output"), inputFeatures: dimensions, outputFeatures: dimensions, bias: bias)
    }

    /// x: (B, L, D); context (keys and values, default x): (B, S, D); mask broadcastable to (B, heads, L, S),
    /// true where attending is allowed. Returns (B, L, D).
    public func callAsFunction(_ x: Tensor, context: Tensor? = nil, mask: Tensor? = nil, causal: Bool = false, dropout p: Double = 0) throws -> Tensor {
        let source = context ?? x
        let (b, l, d) = (x.size(0), x.size(1), x.size(2))
        let s = source.size(1)
        func split(_ t: Tensor, _ n: Int) throws -> Tensor {
            try t.reshape([b, n, heads, d / heads]).transpose(1, 2)  // (B, heads, n, D/heads)
        }
        let q = try split(query(x), l)
        let k = try split(key(source), s)
        let v = try split(value(source), s)
        let y = try scaledDotProductAttention(query: q, key: k, value: v, mask: mask, dropout: p, causal: causal)
        return try output(y.transpose(1, 2).reshape([b, l, d]))
    }
}
