// Incremental decoding for causal transformers (the KV cache of autoregressive sampling, as in
// GPT-2's `past_key_values`): each layer keeps the keys and values of the positions already seen, so
// a new position costs one query against the cache instead of a pass over the whole prefix, and
// sampling N tokens is O(N²) attention work in total rather than O(N³).
import Torch

/// The keys and values of the positions seen so far, one entry per transformer layer.
public final class KeyValueCache {
    /// Per layer: keys and values (B, heads, S, D/heads), nil before the first position.
    var entries: [(keys: Tensor, values: Tensor)?]

    public init(layers: Int) { entries = Array(repeating: nil, count: layers) }

    /// Positions cached so far (0 when empty).
    public var length: Int { entries.first.flatMap { $0?.keys.size(2) } ?? 0 }

    /// The cache of layer `i`, a handle that the layer's attention reads and extends.
    public func layer(_ i: Int) -> Layer { Layer(cache: self, index: i) }

    public struct Layer {
        let cache: KeyValueCache
        let index: Int

        /// Appends keys and values (B, heads, n, D/heads) and returns all of them (B, heads, S + n, D/heads).
        func append(keys: Tensor, values: Tensor) throws -> (keys: Tensor, values: Tensor) {
            let all: (keys: Tensor, values: Tensor)
            if let old = cache.entries[index] {
                all = (try concatenate([old.keys, keys], dim: 2), try concatenate([old.values, values], dim: 2))
            } else {
                all = (keys, values)
            }
            cache.entries[index] = all
            return all
        }
    }
}

extension MultiHeadAttention {
    /// Causal self-attention of n new positions x (B, n, D) that follow the S positions in `cache`:
    /// new position i sees the cached ones and new positions 0...i. Extends the cache; returns (B, n, D).
    public func callAsFunction(_ x: Tensor, cache: KeyValueCache.Layer) throws -> Tensor {
        let (b, n, d) = (x.size(0), x.size(1), x.size(2))
        func split(_ t: Tensor) throws -> Tensor { try t.reshape([b, n, heads, d / heads]).transpose(1, 2) }  // (B, heads, n, D/heads)
        let past = cache.cache.entries[cache.index]?.keys.size(2) ?? 0
        let (k, v) = try cache.append(keys: split(key(x)), values: split(value(x)))
        var mask: Tensor? = nil
        if n > 1 {  // (n, S + n): key j is allowed for query i when j <= S + i
            let queries = try Tensor.arange(Double(past), Double(past + n), device: x.device).reshape([n, 1])
            let keys = try Tensor.arange(0, Double(past + n), device: x.device).reshape([1, past + n])
            mask = try keys.le(queries)
        }
        let y = try scaledDotProductAttention(query: split(query(x)), key: k, value: v, mask: mask)
        return try output(y.transpose(1, 2).reshape([b, n, d]))
    }
}

extension TransformerBlock {
    /// The block on n new positions after those in `cache` (inference: no dropout). The same numbers
    /// as the causal pass over the whole sequence, restricted to the new positions.
    public func callAsFunction(_ x: Tensor, cache: KeyValueCache.Layer) throws -> Tensor {
        let h = try x + attention(norm1(x), cache: cache)
        return try h + down(up(norm2(h)).gelu())
    }
}
