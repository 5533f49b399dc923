// Element types and devices of tensors.
import CTorch

/// The element type of a tensor.
public enum DType: Int32, CaseIterable, Codable, Sendable, CustomStringConvertible {
    case float32 = 0, float64 = 1, bfloat16 = 2, float16 = 3, int64 = 4, int32 = 5, uint8 = 6, bool = 7

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

    var name: String {
        switch self {
        case .float32: "float32"
        case .float64: "float64"
        case .bfloat16: "bfloat16"
        case .float16: "float16"
        case .int64: "int64"
        case .int32: "int32"
        case .uint8: "uint8"
        case .bool: "bool"
        }
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
            guard text.hasPrefix("cuda:"), let index = Int(text.dropFirst(5)), index >= 0 else {
                throw TorchError(op: "device", message: "expected cpu, cuda or cuda:N, got '\(text)'")
            }
            self = .cuda(index)
        }
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
        case .cuda(let i): Int32(i)
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
