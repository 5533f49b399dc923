// Named parameters and buffers: one place that owns every tensor of a model, so checkpoint keys,
// the optimizer's list and device/dtype moves all come from the same names (the variable-store
// pattern of tch-rs and candle).
import Torch

/// An error in building, loading or saving a model's named tensors.
public struct ParameterError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Owns the named tensors of a model. Layers are built from a `ParameterPath` into it.
public final class ParameterStore: @unchecked Sendable {
    public struct Entry {
        public let tensor: Tensor
        /// Trainable parameters get gradients and go to the optimizer; buffers do neither.
        public let trainable: Bool
    }

    public private(set) var device: Device
    public private(set) var dtype: DType
    private var order: [String] = []
    private var entries: [String: Entry] = [:]

    public init(device: Device = .cpu, dtype: DType = .float32) {
        self.device = device
        self.dtype = dtype
    }

    /// The root path; `store.root("encoder")("conv_in")` names "encoder.conv_in.*".
    public var root: ParameterPath { ParameterPath(store: self, prefix: "") }

    /// Every name, in registration order.
    public var names: [String] { order }

    public subscript(name: String) -> Tensor? { entries[name]?.tensor }

    /// Trainable parameters, in registration order.
    public var parameters: [(name: String, tensor: Tensor)] {
        order.compactMap { name in entries[name].flatMap { $0.trainable ? (name, $0.tensor) : nil } }
    }

    /// Parameters and buffers, in registration order.
    public var tensors: [(name: String, tensor: Tensor)] { order.map { ($0, entries[$0]!.tensor) } }

    /// Number of trainable scalars.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.tensor.count } }

    func register(_ name: String, _ tensor: Tensor, trainable: Bool) throws -> Tensor {
        guard entries[name] == nil else { throw ParameterError("parameter '\(name)' is registered twice") }
        if trainable { try tensor.requiresGrad(true) }
        entries[name] = Entry(tensor: tensor, trainable: trainable)
        order.append(name)
        return tensor
    }

    /// Moves every tensor to `device` and floating-point ones to `dtype`, in place: layers keep working.
    public func move(to device: Device, dtype: DType? = nil) throws {
        let target = dtype ?? self.dtype
        try withNoGrad { () throws in
            for name in order {
                let t = entries[name]!.tensor
                try t.setData(t.to(t.dtype.isFloatingPoint ? target : t.dtype, device))
            }
        }
        self.device = device
        self.dtype = target
    }

    /// Copies `source` into the registered tensors. Strict loading (the default) fails, naming them,
    /// on missing names, unexpected names and shape mismatches; non-strict loading skips them.
    public func load(_ source: [String: Tensor], strict: Bool = true) throws {
        if strict {
            let missing = order.filter { source[$0] == nil }
            let unexpected = source.keys.filter { entries[$0] == nil }.sorted()
            let misshaped = order.compactMap { name -> String? in
                guard let s = source[name], s.shape != entries[name]!.tensor.shape else { return nil }
                return "\(name): expected \(entries[name]!.tensor.shape), found \(s.shape)"
            }
            var problems: [String] = []
            if !missing.isEmpty { problems.append("missing \(missing.count): \(summary(missing))") }
            if !unexpected.isEmpty { problems.append("unexpected \(unexpected.count): \(summary(unexpected))") }
            if !misshaped.isEmpty { problems.append("wrong shape \(misshaped.count): \(summary(misshaped))") }
            if !problems.isEmpty { throw ParameterError("checkpoint does not match the model: " + problems.joined(separator: "; ")) }
        }
        // NaN or infinite weights (a diverged run, a damaged file) would only show as garbage later.
        let damaged = try nonFinite(order.compactMap { name in source[name].map { (name, $0) } })
        if !damaged.isEmpty { throw ParameterError("checkpoint holds NaN or infinite values in \(damaged.count) tensor(s): \(summary(damaged))") }
        try withNoGrad { () throws in
            for name in order {
                guard let s = source[name], s.shape == entries[name]!.tensor.shape else { continue }
                try entries[name]!.tensor.copy_(s)
            }
        }
    }

    /// Copies of every tensor by name (own storage, no autograd history), for saving and for
    /// restoring after a temporary swap such as evaluating EMA weights.
    public func snapshot() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in order { out[name] = try entries[name]!.tensor.detach().clone() }
        return out
    }

    /// Clears every parameter's gradient.
    public func zeroGrad() throws {
        for (_, t) in parameters { try t.zeroGrad() }
    }
}

/// The names of the floating-point tensors holding a NaN or an infinity, in order.
func nonFinite(_ tensors: [(name: String, tensor: Tensor)]) throws -> [String] {
    try tensors.filter { try $0.tensor.dtype.isFloatingPoint && !$0.tensor.to(.float64).abs().sum().item().isFinite }.map(\.name)
}

/// Names for a message: all of a few, the first eight of many.
func summary(_ names: [String]) -> String {
    names.count <= 8 ? names.joined(separator: ", ") : names.prefix(8).joined(separator: ", ") + ", ..."
}

/// A position in a `ParameterStore`'s name space, handed to each layer as it is built.
public struct ParameterPath: Sendable {
    public let store: ParameterStore
    public let prefix: String

    /// The sub-path `name` (joined with a dot).
    public func callAsFunction(_ name: String) -> ParameterPath {
        ParameterPath(store: store, prefix: qualified(name))
    }

    public func callAsFunction(_ index: Int) -> ParameterPath { self(String(index)) }

    public func qualified(_ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }

    /// Creates, initialises and registers a trainable parameter.
    public func parameter(_ name: String, shape: [Int], initializer: Initializer) throws -> Tensor {
        let t = try withNoGrad { () throws in try initializer.make(shape, dtype: store.dtype, device: store.device) }
        return try store.register(qualified(name), t, trainable: true)
    }

    /// Registers a non-trainable tensor (running statistics, fixed filters) that checkpoints keep.
    public func buffer(_ name: String, _ value: Tensor) throws -> Tensor {
        let t = try value.to(value.dtype.isFloatingPoint ? store.dtype : value.dtype, store.device)
        return try store.register(qualified(name), t, trainable: false)
    }
}
