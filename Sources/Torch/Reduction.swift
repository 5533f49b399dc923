// Reductions, softmax, sorting and sampling.
import CTorch

extension Tensor {
    @inline(__always)
    func reduce(_ op: ct_reduce_op, _ dims: [Int], keepDim: Bool) throws(TorchError) -> Tensor {
        let d = dims.map(Int64.init)
        return try produce { ct_reduce(Int32(op.rawValue), handle, d, Int32(d.count), keepDim, $0) }
    }

    /// Sum over `dims` (all dimensions when empty).
    public func sum(_ dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor { try reduce(CT_SUM, dims, keepDim: keepDim) }
    public func sum(dim: Int, keepDim: Bool = false) throws(TorchError) -> Tensor { try reduce(CT_SUM, [dim], keepDim: keepDim) }
    public func mean(_ dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor { try reduce(CT_MEAN, dims, keepDim: keepDim) }
    public func mean(dim: Int, keepDim: Bool = false) throws(TorchError) -> Tensor { try reduce(CT_MEAN, [dim], keepDim: keepDim) }
    public func max(_ dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor { try reduce(CT_AMAX, dims, keepDim: keepDim) }
    public func min(_ dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor { try reduce(CT_AMIN, dims, keepDim: keepDim) }
    public func prod(_ dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor { try reduce(CT_PROD, dims, keepDim: keepDim) }
    public func logSumExp(_ dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor { try reduce(CT_LOGSUMEXP, dims, keepDim: keepDim) }
    public func all(_ dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor { try reduce(CT_ALL, dims, keepDim: keepDim) }
    public func any(_ dims: [Int] = [], keepDim: Bool = false) throws(TorchError) -> Tensor { try reduce(CT_ANY, dims, keepDim: keepDim) }

    /// Variance with Bessel's `correction` (1: unbiased, 0: population).
    public func variance(_ dims: [Int] = [], correction: Int = 1, keepDim: Bool = false) throws(TorchError) -> Tensor {
        let d = dims.map(Int64.init)
        return try produce { ct_var(handle, d, Int32(d.count), Int64(correction), keepDim, $0) }
    }

    public func std(_ dims: [Int] = [], correction: Int = 1, keepDim: Bool = false) throws(TorchError) -> Tensor {
        try variance(dims, correction: correction, keepDim: keepDim).sqrt()
    }

    public func argmax(dim: Int, keepDim: Bool = false) throws(TorchError) -> Tensor {
        try produce { ct_argmax(handle, Int64(dim), keepDim, false, $0) }
    }

    public func argmin(dim: Int, keepDim: Bool = false) throws(TorchError) -> Tensor {
        try produce { ct_argmax(handle, Int64(dim), keepDim, true, $0) }
    }

    public func softmax(dim: Int) throws(TorchError) -> Tensor { try produce { ct_softmax(handle, Int64(dim), false, $0) } }
    public func logSoftmax(dim: Int) throws(TorchError) -> Tensor { try produce { ct_softmax(handle, Int64(dim), true, $0) } }
    public func cumsum(dim: Int) throws(TorchError) -> Tensor { try produce { ct_cumsum(handle, Int64(dim), $0) } }

    /// The `k` largest (or smallest) entries along `dim`, sorted, with their indices.
    public func topk(_ k: Int, dim: Int = -1, largest: Bool = true) throws(TorchError) -> (values: Tensor, indices: Tensor) {
        let (v, i) = try produce2 { ct_topk(handle, Int64(k), Int64(dim), largest, $0, $1) }
        return (v, i)
    }

    public func sorted(dim: Int = -1, descending: Bool = false) throws(TorchError) -> (values: Tensor, indices: Tensor) {
        let (v, i) = try produce2 { ct_sort(handle, Int64(dim), descending, $0, $1) }
        return (v, i)
    }

    /// Draws `count` indices per row from the (unnormalised) probabilities in the last dimension.
    public func multinomial(_ count: Int, replacement: Bool = false) throws(TorchError) -> Tensor {
        try produce { ct_multinomial(handle, Int64(count), replacement, $0) }
    }
}
