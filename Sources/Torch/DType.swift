// Element types and devices of tensors, and how Swift enums take the shim's codes.
import CTorch

/// A Swift mirror of one of the shim's enumerations (the X-macro lists in ctorch.h). Each case
/// names its C enumerator in an exhaustive switch, so a case without one does not compile and a
/// renumbered C list is followed without a change here.
protocol ShimEnumeration {
    associatedtype Enumerator: RawRepresentable where Enumerator.RawValue: BinaryInteger
    var enumerator: Enumerator { get }
}

extension ShimEnumeration {
    /// The code passed to the shim.
    var code: Int32 { Int32(enumerator.rawValue) }
}

/// The element type of a tensor.
///
/// Its shim code and its name come from the shim's list of element types (`CT_DTYPES` in
/// ctorch.h): a case without a C enumerator does not compile, and a code the list gains that
/// Swift lacks is an error when it arrives (`init(code:)`), never a silent float32.
public enum DType: CaseIterable, Codable, Sendable, CustomStringConvertible, ShimEnumeration {
    case float32, float64, bfloat16, float16, int64, int32, uint8, bool

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .bfloat16, .float16: 2
        case .uint8, .bool: 1
        }
    }

    public var isFloatingPoint: Bool { [.float32, .float64, .bfloat16, .float16].contains(self) }

    public var description: String { name }

    /// The name in the shim's list: float32, bfloat16, int64, ...
    public var name: String {
        guard let name = ct_enum_name(Int32(CT_ENUM_DTYPE.rawValue), code) else { return "dtype \(code)" }
        return String(cString: name)
    }

    /// The element type of a shim code; throws for any code outside the list, including the -1
    /// the shim reports for a libtorch type it does not map.
    init(code: Int32) throws(TorchError) {
        guard let match = DType.allCases.first(where: { $0.code == code }) else {
            throw TorchError(op: "dtype", message: "element type code \(code) is none of \(DType.allCases)")
        }
        self = match
    }

    var enumerator: ct_dtype_code {
        switch self {
        case .float32: CT_FLOAT32
        case .float64: CT_FLOAT64
        case .bfloat16: CT_BFLOAT16
        case .float16: CT_FLOAT16
        case .int64: CT_INT64
        case .int32: CT_INT32
        case .uint8: CT_UINT8
        case .bool: CT_BOOL
        }
    }

    /// The name used by safetensors headers.
    public var safetensorsName: String {
        switch self {
        case .float32: "F32"
        case .float64: "F64"
        case .bfloat16: "BF16"
        case .float16: "F16"
        case .int64: "I64"
        case .int32: "I32"
        case .uint8: "U8"
        case .bool: "BOOL"
        }
    }

    public init?(safetensorsName: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = match
    }

    /// Encoded as its name ("float32").
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let match = DType.allCases.first(where: { $0.name == name }) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "dtype '\(name)' is none of \(DType.allCases)")
        }
        self = match
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

/// Where a tensor lives.
public enum Device: Equatable, Hashable, Sendable, CustomStringConvertible, Codable {
    case cpu
    case cuda(Int)

    /// The first CUDA device when libtorch has one, otherwise the CPU.
    public static var best: Device { Torch.cudaAvailable ? .cuda(0) : .cpu }

    /// Parses "cpu", "cuda" or "cuda:N".
    public init(parsing text: String) throws(TorchError) {
        switch text {
        case "cpu": self = .cpu
        case "cuda": self = .cuda(0)
        default:
            guard text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)), (0..<1 << 16).contains(index) else {
                throw TorchError(op: "device", message: "expected cpu, cuda or cuda:N, got '\(text)'")
            }
            self = .cuda(index)
        }
    }

    /// Throws unless tensors can be placed here, with one line naming this libtorch's version and
    /// build and the CUDA devices it found, e.g. "cuda:0 requested, but this libtorch 2.15.0 (CPU
    /// build) found no CUDA device; use --device cpu". Every operation given a device checks it the
    /// same way; this asks before any work starts.
    public func checkAvailable() throws(TorchError) {
        try check(ct_check_device(kind, index))
    }

    public var description: String {
        switch self {
        case .cpu: "cpu"
        case .cuda(let i): "cuda:\(i)"
        }
    }

    var kind: Int32 {
        switch self {
        case .cpu: Int32(CT_CPU)
        case .cuda: Int32(CT_CUDA)
        }
    }

    var index: Int32 {
        switch self {
        case .cpu: 0
        case .cuda(let i): Int32(clamping: i)  // a device past 2^31 does not exist: the shim says so
        }
    }
}

/// Swift element types that can be copied into and out of tensors.
public protocol TensorElement: Sendable {
    static var dtype: DType { get }
}

extension Float: TensorElement { public static var dtype: DType { .float32 } }
extension Double: TensorElement { public static var dtype: DType { .float64 } }
extension Int64: TensorElement { public static var dtype: DType { .int64 } }
extension Int32: TensorElement { public static var dtype: DType { .int32 } }
extension UInt8: TensorElement { public static var dtype: DType { .uint8 } }
extension Bool: TensorElement { public static var dtype: DType { .bool } }
#if !(os(macOS) && arch(x86_64))
extension Float16: TensorElement { public static var dtype: DType { .float16 } }
#endif
