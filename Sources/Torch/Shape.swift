// Views, reshaping, joining, padding and indexing.
import CTorch

/// How `pad` fills the new border.
public enum PadMode: Sendable, ShimEnumeration {
    case constant, replicate, reflect

    var enumerator: ct_pad_mode {
        switch self {
        case .constant: CT_PAD_CONSTANT
        case .replicate: CT_PAD_REPLICATE
        case .reflect: CT_PAD_REFLECT
        }
    }
}

extension Tensor {
    public func reshape(_ shape: [Int]) throws(TorchError) -> Tensor {
        let s = shape.map(Int64.init)
        return try produce { ct_reshape(handle, s, Int32(s.count), $0) }
    }

    public func permute(_ dims: [Int]) throws(TorchError) -> Tensor {
        let d = dims.map(Int64.init)
        return try produce { ct_permute(handle, d, Int32(d.count), $0) }
    }

    public func transpose(_ d0: Int, _ d1: Int) throws(TorchError) -> Tensor {
        try produce { ct_transpose(handle, Int64(d0), Int64(d1), $0) }
    }

    /// Broadcasts singleton dimensions to `shape` without copying (-1 keeps a size).
    public func expand(_ shape: [Int]) throws(TorchError) -> Tensor {
        let s = shape.map(Int64.init)
        return try produce { ct_expand(handle, s, Int32(s.count), $0) }
    }

    public func repeated(_ repeats: [Int]) throws(TorchError) -> Tensor {
        let r = repeats.map(Int64.init)
        return try produce { ct_repeat(handle, r, Int32(r.count), $0) }
    }

    public func squeeze(_ dim: Int) throws(TorchError) -> Tensor { try produce { ct_squeeze(handle, Int64(dim), $0) } }
    public func unsqueeze(_ dim: Int) throws(TorchError) -> Tensor { try produce { ct_unsqueeze(handle, Int64(dim), $0) } }

    /// Merges dimensions `start...end` into one.
    public func flatten(start: Int = 0, end: Int = -1) throws(TorchError) -> Tensor {
        let s = shape
        let lo = start < 0 ? start + s.count : start
        let hi = end < 0 ? end + s.count : end
        guard lo >= 0, hi < s.count, lo <= hi else {
            if s.isEmpty { return try reshape([1]) }
            throw TorchError(op: "flatten", message: "dims \(start)...\(end) out of range for shape \(s)")
        }
        let merged = s[lo...hi].reduce(1, *)
        return try reshape(Array(s[..<lo]) + [merged] + Array(s[(hi + 1)...]))
    }

    public func flip(_ dims: [Int]) throws(TorchError) -> Tensor {
        let d = dims.map(Int64.init)
        return try produce { ct_flip(handle, d, Int32(d.count), $0) }
    }

    /// The slice `start..<start+length` of dimension `dim` (a view).
    public func narrow(_ dim: Int, start: Int, length: Int) throws(TorchError) -> Tensor {
        try produce { ct_narrow(handle, Int64(dim), Int64(start), Int64(length), $0) }
    }

    /// Entry `index` of dimension `dim`, which is removed (a view).
    public func select(_ dim: Int, _ index: Int) throws(TorchError) -> Tensor {
        try produce { ct_select(handle, Int64(dim), Int64(index), $0) }
    }

    public func indexSelect(_ dim: Int, _ index: Tensor) throws(TorchError) -> Tensor {
        try produce { ct_index_select(handle, Int64(dim), index.handle, $0) }
    }

    public func gather(_ dim: Int, _ index: Tensor) throws(TorchError) -> Tensor {
        try produce { ct_gather(handle, Int64(dim), index.handle, $0) }
    }

    /// A copy with `source` written at `index` along `dim`.
    public func scatter(_ dim: Int, _ index: Tensor, _ source: Tensor) throws(TorchError) -> Tensor {
        try produce { ct_scatter(handle, Int64(dim), index.handle, source.handle, $0) }
    }

    public func maskedFill(_ mask: Tensor, _ value: Double) throws(TorchError) -> Tensor {
        try produce { ct_masked_fill(handle, mask.handle, value, $0) }
    }

    /// Pads with (before, after) pairs starting from the last dimension, as torch.nn.functional.pad.
    public func pad(_ pads: [Int], mode: PadMode = .constant, value: Double = 0) throws(TorchError) -> Tensor {
        let p = pads.map(Int64.init)
        return try produce { ct_pad(handle, p, Int32(p.count), mode.code, value, $0) }
    }

    /// Occurrences of each value 0..<max(minLength, max+1) in a 1-d non-negative integer tensor.
    public func bincount(minLength: Int = 0) throws(TorchError) -> Tensor {
        try produce { ct_bincount(handle, Int64(minLength), $0) }
    }

    public func oneHot(_ classes: Int) throws(TorchError) -> Tensor { try produce { ct_one_hot(handle, Int64(classes), $0) } }

    /// Splits dimension `dim` into pieces of `size` (the last may be shorter).
    public func split(_ size: Int, dim: Int = 0) throws(TorchError) -> [Tensor] {
        let n = self.size(dim)
        return try stride(from: 0, to: n, by: size).map { (start) throws(TorchError) in
            try narrow(dim, start: start, length: Swift.min(size, n - start))
        }
    }

    /// Splits dimension `dim` into `count` nearly equal pieces.
    public func chunked(_ count: Int, dim: Int = 0) throws(TorchError) -> [Tensor] {
        let n = size(dim)
        return try split((n + count - 1) / count, dim: dim)
    }
}

/// Joins tensors along an existing dimension.
public func concatenate(_ tensors: [Tensor], dim: Int = 0) throws(TorchError) -> Tensor {
    let handles: [OpaquePointer?] = tensors.map { $0.handle }
    return try withExtendedLifetime(tensors) { () throws(TorchError) -> Tensor in
        try produce { ct_cat(handles, Int32(handles.count), Int64(dim), false, $0) }
    }
}

/// Joins tensors along a new dimension.
public func stacked(_ tensors: [Tensor], dim: Int = 0) throws(TorchError) -> Tensor {
    let handles: [OpaquePointer?] = tensors.map { $0.handle }
    return try withExtendedLifetime(tensors) { () throws(TorchError) -> Tensor in
        try produce { ct_cat(handles, Int32(handles.count), Int64(dim), true, $0) }
    }
}
