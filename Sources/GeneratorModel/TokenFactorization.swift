// Token factorization (MAGVIT-v2 §3.2): a token id of B bits is split into sub-tokens of b₁, b₂, …
// bits (low bits first), each with its own input embedding (summed) and its own output head, so a
// 2^18 vocabulary needs heads of 2^9 + 2^9 (or 2^6 + 2^12) outputs instead of one of 2^18.
import Torch

public struct TokenFactorization: Sendable, Equatable {
    public let bits: [Int]

    public init(bits: [Int]) { self.bits = bits }

    /// The low bit of each sub-token in the id.
    public var offsets: [Int] { bits.indices.map { bits.prefix($0).reduce(0, +) } }
    /// Values each sub-token takes: 2^bᵢ.
    public var sizes: [Int] { bits.map { 1 << $0 } }

    /// Sub-token ids, one int64 tensor of the ids' shape per factor.
    public func split(_ ids: Tensor) throws -> [Tensor] {
        let ids = try ids.to(.int64)
        return try zip(offsets, sizes).map { offset, size in try ids.shiftedRight(offset).bitwiseAnd(size - 1) }
    }

    /// The sub-token values of one (non-negative) id.
    public func split(_ id: Int) -> [Int] {
        zip(offsets, sizes).map { offset, size in (id >> offset) & (size - 1) }
    }

    /// One id from its sub-token values.
    public func join(_ values: [Int]) -> Int {
        zip(values, offsets).reduce(0) { $0 | ($1.0 << $1.1) }
    }

    /// Token ids from their sub-tokens: Σ fᵢ · 2^offsetᵢ.
    public func join(_ factors: [Tensor]) throws -> Tensor {
        precondition(factors.count == bits.count, "one tensor per factor")
        var ids = try factors[0].to(.int64)
        for (factor, offset) in zip(factors, offsets).dropFirst() {
            ids = try ids.bitwiseOr(factor.to(.int64).shiftedLeft(offset))
        }
        return ids
    }
}
