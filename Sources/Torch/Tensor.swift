// Tensor: an owning Swift handle on a libtorch tensor, with creation and data transfer.
import CTorch

/// An n-dimensional array on a device, backed by libtorch, that records autograd history.
///
/// A `Tensor` owns its libtorch handle and releases it when Swift drops the last reference,
/// so memory follows Swift's reference counting. Operations never mutate their inputs unless
/// their name ends in an underscore (`add_`), as in PyTorch.
public final class Tensor: @unchecked Sendable {
    let handle: OpaquePointer

    /// Takes ownership of a handle from the shim. Every tensor comes through here, so a tensor of an
    /// element type that `DType` lacks is refused at once (and freed) instead of being mislabelled.
    init(owning handle: OpaquePointer) throws(TorchError) {
        guard (try? DType(code: ct_dtype(handle))) != nil else {
            let type = String(cString: ct_scalar_type_name(handle))
            ct_free(handle)
            throw TorchError(
                op: "dtype", message: "libtorch returned a tensor of element type \(type), which is none of \(DType.allCases)")
        }
        self.handle = handle
    }

    deinit { ct_free(handle) }

    // MARK: facts

    /// The size of each dimension.
    public var shape: [Int] {
        let n = Int(ct_dim(handle))
        var sizes = [Int64](repeating: 0, count: n)
        ct_sizes(handle, &sizes)
        return sizes.map(Int.init)
    }

    public var rank: Int { Int(ct_dim(handle)) }
    public var count: Int { Int(ct_numel(handle)) }

    public var dtype: DType {
        // init(owning:) admitted this handle's type, and only setData changes a tensor's type, to
        // that of another Tensor, which was admitted too: the code is always one of DType's.
        try! DType(code: ct_dtype(handle))
    }

    public var device: Device {
        var kind: Int32 = 0
        var index: Int32 = 0
        ct_device(handle, &kind, &index)
        return kind == Int32(CT_CUDA) ? .cuda(Int(index)) : .cpu
    }

    /// The size of dimension `dim` (negative counts from the end).
    public func size(_ dim: Int) -> Int {
        let s = shape
        return s[dim < 0 ? dim + s.count : dim]
    }

    // MARK: creation

    /// A tensor holding `values` with the given shape (row-major), copied onto `device`.
    public convenience init<E: TensorElement>(_ values: [E], shape: [Int], device: Device = .cpu) throws(TorchError) {
        let expected = shape.reduce(1, *)
        guard values.count == expected, shape.allSatisfy({ $0 >= 0 }) else {
            throw TorchError(op: "tensor", message: "shape \(shape) needs \(expected) values, got \(values.count)")
        }
        let dims = shape.map(Int64.init)
        var handle: OpaquePointer?
        let error = values.withUnsafeBytes { raw in
            ct_from_data(raw.baseAddress, dims, Int32(dims.count), E.dtype.code, &handle)
        }
        try check(error)
        let t = try Tensor(owning: handle!)
        try self.init(owning: device == .cpu ? t.aliasHandle() : t.to(device).aliasHandle())
    }

    /// A 1-d tensor of `values`.
    public convenience init<E: TensorElement>(_ values: [E], device: Device = .cpu) throws(TorchError) {
        try self.init(values, shape: [values.count], device: device)
    }

    /// A 0-d tensor holding one number.
    public convenience init(scalar: Double, dtype: DType = .float32, device: Device = .cpu) throws(TorchError) {
        try self.init(owning: Tensor.full([], scalar, dtype: dtype, device: device).aliasHandle())
    }

    /// A tensor built from raw little-endian bytes of `dtype` (safetensors payloads, bfloat16 included).
    public static func fromBytes(_ bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) throws(TorchError) -> Tensor {
        let expected = shape.reduce(1, *) * dtype.byteSize
        guard bytes.count == expected else {
            throw TorchError(op: "from_bytes", message: "shape \(shape) of \(dtype) needs \(expected) bytes, got \(bytes.count)")
        }
        let dims = shape.map(Int64.init)
        return try produce { ct_from_data(bytes.baseAddress, dims, Int32(dims.count), dtype.code, $0) }
    }

    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        let dims = shape.map(Int64.init)
        return try produce { ct_full(dims, Int32(dims.count), value, dtype.code, device.kind, device.index, $0) }
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        try full(shape, 0, dtype: dtype, device: device)
    }

    /// Zeros with the shape, dtype and device of `other`.
    public static func zerosLike(_ other: Tensor) throws(TorchError) -> Tensor {
        try full(other.shape, 0, dtype: other.dtype, device: other.device)
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        try full(shape, 1, dtype: dtype, device: device)
    }

    /// Values from `start` up to, not including, `end`.
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64, device: Device = .cpu) throws(TorchError) -> Tensor {
        try produce { ct_arange(start, end, step, dtype.code, device.kind, device.index, $0) }
    }

    /// Uniform samples in [0, 1) from the global generator (see `Torch.manualSeed`).
    public static func rand(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        let dims = shape.map(Int64.init)
        return try produce { ct_random(0, dims, Int32(dims.count), dtype.code, device.kind, device.index, $0) }
    }

    /// Standard normal samples from the global generator.
    public static func randn(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(TorchError) -> Tensor {
        let dims = shape.map(Int64.init)
        return try produce { ct_random(1, dims, Int32(dims.count), dtype.code, device.kind, device.index, $0) }
    }

    /// Uniform integers in [low, high), as int64.
    public static func randint(_ low: Int, _ high: Int, _ shape: [Int], device: Device = .cpu) throws(TorchError) -> Tensor {
        let dims = shape.map(Int64.init)
        return try produce { ct_randint(Int64(low), Int64(high), dims, Int32(dims.count), device.kind, device.index, $0) }
    }

    // MARK: conversion and transfer

    /// The tensor converted to `dtype` and moved to `device` (the same tensor when nothing changes).
    public func to(_ dtype: DType? = nil, _ device: Device? = nil) throws(TorchError) -> Tensor {
        let d = device ?? self.device
        return try produce { ct_to(handle, (dtype ?? self.dtype).code, d.kind, d.index, $0) }
    }

    public func to(_ device: Device) throws(TorchError) -> Tensor { try to(nil, device) }

    /// The elements in row-major order as Swift values; converts the dtype when `E` differs.
    public func toArray<E: TensorElement>(_ type: E.Type = E.self) throws(TorchError) -> [E] {
        let source = dtype == E.dtype ? self : try to(E.dtype)
        let n = source.count
        return try [E](unsafeUninitializedCapacity: n) { (buffer, initialized) throws(TorchError) in
            try check(ct_copy_to_host(source.handle, buffer.baseAddress, n * MemoryLayout<E>.stride))
            initialized = n
        }
    }

    /// The raw little-endian bytes of the elements in row-major order (any dtype).
    public func bytes() throws(TorchError) -> [UInt8] {
        let n = count * dtype.byteSize
        return try [UInt8](unsafeUninitializedCapacity: n) { (buffer, initialized) throws(TorchError) in
            try check(ct_copy_to_host(handle, buffer.baseAddress, n))
            initialized = n
        }
    }

    /// The value of a one-element tensor. On a GPU this waits for the device.
    public func item() throws(TorchError) -> Double {
        var value = 0.0
        try check(ct_item(handle, &value))
        return value
    }

    public func clone() throws(TorchError) -> Tensor { try produce { ct_clone(handle, $0) } }

    /// The same data, cut from autograd history.
    public func detach() throws(TorchError) -> Tensor { try produce { ct_detach(handle, $0) } }

    public func contiguous() throws(TorchError) -> Tensor { try produce { ct_contiguous(handle, $0) } }

    /// A second handle on the same tensor, for initialisers that must own one.
    private func aliasHandle() throws(TorchError) -> OpaquePointer {
        var out: OpaquePointer?
        try check(ct_alias(handle, &out))
        return out!
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        "Tensor(\(shape), \(dtype), \(device)\(requiresGrad ? ", requiresGrad" : ""))"
    }
}
