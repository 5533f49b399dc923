// Network operations as functions: matmul, convolutions, pooling, resampling, normalisation,
// embedding, dropout, scaled dot-product attention and losses.
import CTorch

/// Matrix product with broadcasting over leading dimensions (torch.matmul).
public func matmul(_ a: Tensor, _ b: Tensor) throws(TorchError) -> Tensor {
    let y = try produce { ct_matmul(a.handle, b.handle, $0) }
    FlopCounter.add(2 * y.count * a.size(-1))
    return y
}

/// Eigenvalues (ascending) and orthonormal eigenvectors (as columns) of a symmetric matrix, or a
/// batch of them (torch.linalg.eigh; only the lower triangle is read).
public func symmetricEigen(_ a: Tensor) throws(TorchError) -> (values: Tensor, vectors: Tensor) {
    let (w, v) = try produce2 { ct_eigh(a.handle, $0, $1) }
    return (w, v)
}

/// y = x Wᵀ + b, with W of shape (out, in).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) throws(TorchError) -> Tensor {
    let y = try produce { ct_linear(x.handle, weight.handle, bias?.handle, $0) }
    FlopCounter.add(2 * y.count * weight.size(-1))
    return y
}

/// Repeats a single value for every spatial dimension, or checks a per-dimension list.
func spatial(_ values: [Int], _ n: Int, _ name: String, _ op: String) throws(TorchError) -> [Int64] {
    if values.count == 1 { return Array(repeating: Int64(values[0]), count: n) }
    guard values.count == n else {
        throw TorchError(op: op, message: "\(name) needs 1 or \(n) values, got \(values)")
    }
    return values.map(Int64.init)
}

/// A convolution's spatial settings for its weight's rank: the number of spatial dims, the op's name
/// in messages (`conv2d`, `conv_transpose3d`), and stride, padding and dilation one value per dim.
struct ConvolutionGeometry {
    let n: Int
    let op: String
    let stride: [Int64], padding: [Int64], dilation: [Int64]

    init(weight: Tensor, kind: String, stride: [Int], padding: [Int], dilation: [Int]) throws(TorchError) {
        n = weight.rank - 2
        op = "\(kind)\(n)d"
        self.stride = try spatial(stride, n, "stride", op)
        self.padding = try spatial(padding, n, "padding", op)
        self.dilation = try spatial(dilation, n, "dilation", op)
    }
}

/// N-d convolution (1 to 3 spatial dims, from the weight's rank): input (N, C, spatial...),
/// weight (out, in/groups, kernel...). `stride`, `padding`, `dilation` take one value or one per dim.
public func conv(
    _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1], padding: [Int] = [0],
    dilation: [Int] = [1], groups: Int = 1
) throws(TorchError) -> Tensor {
    let g = try ConvolutionGeometry(weight: weight, kind: "conv", stride: stride, padding: padding, dilation: dilation)
    if FlopCounter.isDryRun, x.rank == g.n + 2 {
        let sizes = (0..<g.n).map { (i: Int) -> Int in
            let span = Int(g.dilation[i]) * (weight.size(i + 2) - 1) + 1
            return (x.size(i + 2) + 2 * Int(g.padding[i]) - span) / Int(g.stride[i]) + 1
        }
        let y = try Tensor.zeros([x.size(0), weight.size(0)] + sizes, dtype: x.dtype, device: x.device)
        FlopCounter.add(2 * y.count * weight.shape.dropFirst().reduce(1, *))
        return y
    }
    let y = try produce { ct_conv(x.handle, weight.handle, bias?.handle, Int32(g.n), g.stride, g.padding, g.dilation, Int64(groups), $0) }
    FlopCounter.add(2 * y.count * weight.shape.dropFirst().reduce(1, *))
    return y
}

/// N-d transposed convolution; weight (in, out/groups, kernel...).
public func convTranspose(
    _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: [Int] = [1], padding: [Int] = [0],
    outputPadding: [Int] = [0], dilation: [Int] = [1], groups: Int = 1
) throws(TorchError) -> Tensor {
    let g = try ConvolutionGeometry(weight: weight, kind: "conv_transpose", stride: stride, padding: padding, dilation: dilation)
    let o = try spatial(outputPadding, g.n, "outputPadding", g.op)
    let y = try produce {
        ct_conv_transpose(x.handle, weight.handle, bias?.handle, Int32(g.n), g.stride, g.padding, o, g.dilation, Int64(groups), $0)
    }
    FlopCounter.add(2 * x.count * weight.shape.dropFirst().reduce(1, *))
    return y
}

/// Average pooling over the trailing `kernel.count` dims (padding counted in the average).
public func avgPool(_ x: Tensor, kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0]) throws(TorchError) -> Tensor {
    try pool(x, max: false, kernel: kernel, stride: stride ?? kernel, padding: padding)
}

public func maxPool(_ x: Tensor, kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0]) throws(TorchError) -> Tensor {
    try pool(x, max: true, kernel: kernel, stride: stride ?? kernel, padding: padding)
}

private func pool(_ x: Tensor, max: Bool, kernel: [Int], stride: [Int], padding: [Int]) throws(TorchError) -> Tensor {
    let n = kernel.count
    let op = max ? "max_pool" : "avg_pool"
    let k = kernel.map(Int64.init)
    let s = try spatial(stride, n, "stride", op)
    let p = try spatial(padding, n, "padding", op)
    return try produce { ct_pool(x.handle, max, Int32(n), k, s, p, $0) }
}

public enum InterpolationMode: Sendable, ShimEnumeration {
    case nearest
    /// Linear, bilinear or trilinear by the number of spatial dims.
    case linear

    var enumerator: ct_interp_mode {
        switch self {
        case .nearest: CT_NEAREST
        case .linear: CT_LINEAR
        }
    }
}

/// Resamples the trailing spatial dims of (N, C, spatial...) to `size`.
public func interpolate(_ x: Tensor, size: [Int], mode: InterpolationMode = .nearest, alignCorners: Bool = false) throws(TorchError) -> Tensor {
    let s = size.map(Int64.init)
    return try produce { ct_interpolate(x.handle, mode.code, Int32(s.count), s, alignCorners, $0) }
}

/// Where `gridSample` reads outside its input.
public enum GridPadding: Int32, Sendable {
    case zeros = 0, border = 1, reflection = 2
}

/// Samples `x` (N, C, H, W) at `grid` (N, H', W', 2) of normalised (x, y) coordinates in [-1, 1]
/// (PyTorch's grid_sample): (N, C, H', W').
public func gridSample(_ x: Tensor, grid: Tensor, mode: InterpolationMode = .linear, padding: GridPadding = .zeros,
                       alignCorners: Bool = false) throws(TorchError) -> Tensor {
    try produce { ct_grid_sample(x.handle, grid.handle, mode.code, padding.rawValue, alignCorners, $0) }
}

/// Group normalisation over (N, C, ...): statistics per sample and per group of C/groups channels.
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil, eps: Double = 1e-5) throws(TorchError) -> Tensor {
    try produce { ct_group_norm(x.handle, Int64(groups), weight?.handle, bias?.handle, eps, $0) }
}

/// Layer normalisation over the trailing `normalizedShape` dims.
public func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil, eps: Double = 1e-5) throws(TorchError) -> Tensor {
    let s = normalizedShape.map(Int64.init)
    return try produce { ct_layer_norm(x.handle, s, Int32(s.count), weight?.handle, bias?.handle, eps, $0) }
}

/// Rows of `weight` picked by integer `indices`.
public func embedding(_ indices: Tensor, weight: Tensor) throws(TorchError) -> Tensor {
    try produce { ct_embedding(weight.handle, indices.handle, $0) }
}

/// Zeroes entries with probability `p` and rescales the rest, when `training`.
public func dropout(_ x: Tensor, p: Double, training: Bool) throws(TorchError) -> Tensor {
    try produce { ct_dropout(x.handle, p, training, $0) }
}

/// softmax(q kᵀ · scale + mask) v over (..., L, E) queries and (..., S, E) keys/values
/// (torch.nn.functional.scaled_dot_product_attention). A bool mask marks allowed positions;
/// a float mask is added to the scores. `scale` defaults to 1/sqrt(E).
public func scaledDotProductAttention(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil, dropout: Double = 0, causal: Bool = false,
    scale: Double? = nil
) throws(TorchError) -> Tensor {
    let y = try produce { ct_attention(query.handle, key.handle, value.handle, mask?.handle, dropout, causal, scale ?? 0, $0) }
    FlopCounter.add(2 * 2 * y.count * key.size(-2))  // QKᵀ and the weighted sum of V
    return y
}

/// How a loss combines its per-element values.
public enum Reduction: Sendable, ShimEnumeration {
    case none, mean, sum

    var enumerator: ct_reduction {
        switch self {
        case .none: CT_REDUCE_NONE
        case .mean: CT_REDUCE_MEAN
        case .sum: CT_REDUCE_SUM
        }
    }
}

public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) throws(TorchError) -> Tensor {
    try produce { ct_loss(Int32(CT_MSE.rawValue), input.handle, target.handle, reduction.code, 0, $0) }
}

public func l1Loss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) throws(TorchError) -> Tensor {
    try produce { ct_loss(Int32(CT_L1.rawValue), input.handle, target.handle, reduction.code, 0, $0) }
}

/// Cross entropy of logits (N, C, ...) against int64 class indices (N, ...).
public func crossEntropy(_ logits: Tensor, _ target: Tensor, reduction: Reduction = .mean, labelSmoothing: Double = 0) throws(TorchError) -> Tensor {
    try produce {
        ct_loss(Int32(CT_CROSS_ENTROPY.rawValue), logits.handle, target.handle, reduction.code, labelSmoothing, $0)
    }
}

/// Binary cross entropy of logits against targets in [0, 1].
public func binaryCrossEntropyWithLogits(_ logits: Tensor, _ target: Tensor, reduction: Reduction = .mean) throws(TorchError) -> Tensor {
    try produce { ct_loss(Int32(CT_BCE_LOGITS.rawValue), logits.handle, target.handle, reduction.code, 0, $0) }
}
