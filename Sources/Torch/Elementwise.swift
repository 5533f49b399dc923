// Elementwise operations: arithmetic, comparisons, activations and their operators.
import CTorch

extension Tensor {
    @inline(__always)
    func unary(_ op: ct_unary_op) throws(TorchError) -> Tensor {
        try produce { ct_unary(Int32(op.rawValue), handle, $0) }
    }

    @inline(__always)
    func binary(_ op: ct_binary_op, _ other: Tensor) throws(TorchError) -> Tensor {
        try produce { ct_binary(Int32(op.rawValue), handle, other.handle, $0) }
    }

    @inline(__always)
    func binary(_ op: ct_binary_op, _ scalar: Double, integral: Bool = false) throws(TorchError) -> Tensor {
        try produce { ct_binary_scalar(Int32(op.rawValue), handle, scalar, integral, $0) }
    }

    public func neg() throws(TorchError) -> Tensor { try unary(CT_NEG) }
    public func abs() throws(TorchError) -> Tensor { try unary(CT_ABS) }
    public func exp() throws(TorchError) -> Tensor { try unary(CT_EXP) }
    public func log() throws(TorchError) -> Tensor { try unary(CT_LOG) }
    public func log1p() throws(TorchError) -> Tensor { try unary(CT_LOG1P) }
    public func expm1() throws(TorchError) -> Tensor { try unary(CT_EXPM1) }
    public func sqrt() throws(TorchError) -> Tensor { try unary(CT_SQRT) }
    public func rsqrt() throws(TorchError) -> Tensor { try unary(CT_RSQRT) }
    public func square() throws(TorchError) -> Tensor { try unary(CT_SQUARE) }
    public func reciprocal() throws(TorchError) -> Tensor { try unary(CT_RECIPROCAL) }
    public func sin() throws(TorchError) -> Tensor { try unary(CT_SIN) }
    public func cos() throws(TorchError) -> Tensor { try unary(CT_COS) }
    public func tanh() throws(TorchError) -> Tensor { try unary(CT_TANH) }
    public func erf() throws(TorchError) -> Tensor { try unary(CT_ERF) }
    public func sigmoid() throws(TorchError) -> Tensor { try unary(CT_SIGMOID) }
    public func logSigmoid() throws(TorchError) -> Tensor { try unary(CT_LOGSIGMOID) }
    public func relu() throws(TorchError) -> Tensor { try unary(CT_RELU) }
    /// GELU, exact (erf) form; `approximate` uses the tanh form.
    public func gelu(approximate: Bool = false) throws(TorchError) -> Tensor { try unary(approximate ? CT_GELU_TANH : CT_GELU) }
    /// SiLU, also called swish: x * sigmoid(x).
    public func silu() throws(TorchError) -> Tensor { try unary(CT_SILU) }
    public func softplus() throws(TorchError) -> Tensor { try unary(CT_SOFTPLUS) }
    public func leakyRelu(_ slope: Double = 0.01) throws(TorchError) -> Tensor {
        try produce { ct_leaky_relu(handle, slope, $0) }
    }
    public func sign() throws(TorchError) -> Tensor { try unary(CT_SIGN) }
    public func floor() throws(TorchError) -> Tensor { try unary(CT_FLOOR) }
    public func ceil() throws(TorchError) -> Tensor { try unary(CT_CEIL) }
    public func round() throws(TorchError) -> Tensor { try unary(CT_ROUND) }
    public func isNaN() throws(TorchError) -> Tensor { try unary(CT_ISNAN) }
    public func logicalNot() throws(TorchError) -> Tensor { try unary(CT_LOGICAL_NOT) }

    public func pow(_ exponent: Double) throws(TorchError) -> Tensor { try binary(CT_POW, exponent) }
    public func pow(_ exponent: Tensor) throws(TorchError) -> Tensor { try binary(CT_POW, exponent) }
    public func maximum(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_MAXIMUM, other) }
    public func minimum(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_MINIMUM, other) }
    public func remainder(_ divisor: Int) throws(TorchError) -> Tensor { try binary(CT_REMAINDER, Double(divisor), integral: true) }
    public func floorDivide(_ divisor: Int) throws(TorchError) -> Tensor { try binary(CT_FLOOR_DIVIDE, Double(divisor), integral: true) }

    public func clamp(min: Double? = nil, max: Double? = nil) throws(TorchError) -> Tensor {
        try produce { ct_clamp(handle, min ?? 0, max ?? 0, min != nil, max != nil, $0) }
    }

    // Comparisons give bool tensors.
    public func eq(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_EQ, other) }
    public func ne(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_NE, other) }
    public func lt(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_LT, other) }
    public func le(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_LE, other) }
    public func gt(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_GT, other) }
    public func ge(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_GE, other) }
    public func eq(_ s: Double) throws(TorchError) -> Tensor { try binary(CT_EQ, s) }
    public func ne(_ s: Double) throws(TorchError) -> Tensor { try binary(CT_NE, s) }
    public func lt(_ s: Double) throws(TorchError) -> Tensor { try binary(CT_LT, s) }
    public func le(_ s: Double) throws(TorchError) -> Tensor { try binary(CT_LE, s) }
    public func gt(_ s: Double) throws(TorchError) -> Tensor { try binary(CT_GT, s) }
    public func ge(_ s: Double) throws(TorchError) -> Tensor { try binary(CT_GE, s) }
    public func logicalAnd(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_LOGICAL_AND, other) }
    public func logicalOr(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_LOGICAL_OR, other) }

    // Integer bit operations (token ids).
    public func bitwiseAnd(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BITWISE_AND, other) }
    public func bitwiseAnd(_ mask: Int) throws(TorchError) -> Tensor { try binary(CT_BITWISE_AND, Double(mask), integral: true) }
    public func bitwiseOr(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BITWISE_OR, other) }
    public func bitwiseXor(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_BITWISE_XOR, other) }
    public func shiftedLeft(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_SHIFT_LEFT, other) }
    public func shiftedLeft(_ bits: Int) throws(TorchError) -> Tensor { try binary(CT_SHIFT_LEFT, Double(bits), integral: true) }
    public func shiftedRight(_ other: Tensor) throws(TorchError) -> Tensor { try binary(CT_SHIFT_RIGHT, other) }
    public func shiftedRight(_ bits: Int) throws(TorchError) -> Tensor { try binary(CT_SHIFT_RIGHT, Double(bits), integral: true) }
}

/// Picks from `a` where `condition` holds and from `b` elsewhere (broadcasting); torch.where.
public func which(_ condition: Tensor, _ a: Tensor, _ b: Tensor) throws(TorchError) -> Tensor {
    try produce { ct_where(condition.handle, a.handle, b.handle, $0) }
}

// MARK: operators (broadcasting, PyTorch type promotion)

public func + (a: Tensor, b: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_ADD, b) }
public func - (a: Tensor, b: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_SUB, b) }
public func * (a: Tensor, b: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_MUL, b) }
public func / (a: Tensor, b: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_DIV, b) }
public prefix func - (a: Tensor) throws(TorchError) -> Tensor { try a.neg() }

public func + (a: Tensor, s: Double) throws(TorchError) -> Tensor { try a.binary(CT_ADD, s) }
public func - (a: Tensor, s: Double) throws(TorchError) -> Tensor { try a.binary(CT_SUB, s) }
public func * (a: Tensor, s: Double) throws(TorchError) -> Tensor { try a.binary(CT_MUL, s) }
public func / (a: Tensor, s: Double) throws(TorchError) -> Tensor { try a.binary(CT_DIV, s) }
public func + (s: Double, a: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_ADD, s) }
public func - (s: Double, a: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_RSUB, s) }
public func * (s: Double, a: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_MUL, s) }
public func / (s: Double, a: Tensor) throws(TorchError) -> Tensor { try a.binary(CT_RDIV, s) }

// Integer scalars keep integer tensors integer (token arithmetic).
public func + (a: Tensor, s: Int) throws(TorchError) -> Tensor { try a.binary(CT_ADD, Double(s), integral: true) }
public func - (a: Tensor, s: Int) throws(TorchError) -> Tensor { try a.binary(CT_SUB, Double(s), integral: true) }
public func * (a: Tensor, s: Int) throws(TorchError) -> Tensor { try a.binary(CT_MUL, Double(s), integral: true) }
