// Errors raised by libtorch, carried across the C shim as strings and thrown in Swift.
import CTorch

/// An error reported by libtorch (wrong shapes, dtype mismatch, out of memory, bad index, ...)
/// or by Magvit's own argument checks, with the name of the operation that failed.
public struct TorchError: Error, CustomStringConvertible, Sendable {
    /// The operation that failed, e.g. `conv3d`.
    public let op: String
    /// libtorch's message, without its C++ backtrace.
    public let message: String

    public init(op: String, message: String) {
        self.op = op
        self.message = message
    }

    /// Splits the shim's "op: message" form.
    init(shimMessage: String) {
        if let colon = shimMessage.firstIndex(of: ":"), shimMessage[colon...].hasPrefix(": ") {
            let rest = shimMessage.index(colon, offsetBy: 2)
            self.init(op: String(shimMessage[..<colon]), message: String(shimMessage[rest...]))
        } else {
            self.init(op: "torch", message: shimMessage)
        }
    }

    public var description: String { "\(op): \(message)" }
}

/// Throws the shim's error, if any. Every shim call that can fail goes through here.
@inline(__always)
func check(_ error: ct_error?) throws(TorchError) {
    if let error { throw TorchError(shimMessage: String(cString: error)) }
}

/// Calls a shim function that produces one tensor and wraps the handle.
@inline(__always)
func produce(_ call: (UnsafeMutablePointer<OpaquePointer?>) -> ct_error?) throws(TorchError) -> Tensor {
    var out: OpaquePointer?
    try check(call(&out))
    guard let out else { throw TorchError(op: "torch", message: "the shim returned no tensor") }
    return try Tensor(owning: out)
}

/// Calls a shim function that produces two tensors (values and indices).
@inline(__always)
func produce2(
    _ call: (UnsafeMutablePointer<OpaquePointer?>, UnsafeMutablePointer<OpaquePointer?>) -> ct_error?
) throws(TorchError) -> (Tensor, Tensor) {
    var a: OpaquePointer?
    var b: OpaquePointer?
    try check(call(&a, &b))
    guard let a, let b else {
        a.map(ct_free)
        b.map(ct_free)
        throw TorchError(op: "torch", message: "the shim returned no tensor")
    }
    let first: Tensor
    do { first = try Tensor(owning: a) } catch {
        ct_free(b)
        throw error
    }
    return (first, try Tensor(owning: b))
}
