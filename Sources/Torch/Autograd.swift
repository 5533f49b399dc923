// Reverse-mode differentiation: gradients, backward, no-grad and autocast scopes.
import CTorch

extension Tensor {
    /// Whether operations on this tensor are recorded for differentiation.
    public var requiresGrad: Bool { ct_requires_grad(handle) }

    /// Marks a leaf tensor as a variable to differentiate with respect to.
    @discardableResult
    public func requiresGrad(_ on: Bool) throws(TorchError) -> Tensor {
        try check(ct_set_requires_grad(handle, on))
        return self
    }

    /// The gradient accumulated by `backward`, or nil when none has been. Throws when libtorch
    /// cannot give it, which is not the same as having none.
    public var grad: Tensor? {
        get throws(TorchError) {
            var out: OpaquePointer?
            try check(ct_grad(handle, &out))
            guard let out else { return nil }
            return try Tensor(owning: out)
        }
    }

    /// Drops the accumulated gradient.
    public func zeroGrad() throws(TorchError) { try check(ct_clear_grad(handle)) }

    /// Accumulates d(self)/d(leaf) into every leaf's `grad`. `gradient` is required
    /// unless self has one element.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false, createGraph: Bool = false) throws(TorchError) {
        try check(ct_backward(handle, gradient?.handle, retainGraph || createGraph, createGraph))
    }
}

/// Gradients of Σ outputs[i]·gradOutputs[i] with respect to each input, without touching `grad`
/// (torch.autograd.grad). An input that does not reach the outputs gets nil. With `createGraph`
/// the gradients are themselves differentiable (R1 penalties, double backward).
public func gradients(
    of outputs: [Tensor], wrt inputs: [Tensor], gradOutputs: [Tensor]? = nil, createGraph: Bool = false
) throws(TorchError) -> [Tensor?] {
    if let gradOutputs, gradOutputs.count != outputs.count {
        throw TorchError(op: "autograd_grad", message: "\(outputs.count) outputs but \(gradOutputs.count) output gradients")
    }
    let outs: [OpaquePointer?] = outputs.map { $0.handle }
    let ins: [OpaquePointer?] = inputs.map { $0.handle }
    let gouts: [OpaquePointer?]? = gradOutputs?.map { $0.handle }
    var results = [OpaquePointer?](repeating: nil, count: inputs.count)
    try withExtendedLifetime((outputs, inputs, gradOutputs)) { () throws(TorchError) in
        if let gouts {
            try check(ct_autograd_grad(outs, gouts, Int32(outs.count), ins, Int32(ins.count), createGraph, &results))
        } else {
            try check(ct_autograd_grad(outs, nil, Int32(outs.count), ins, Int32(ins.count), createGraph, &results))
        }
    }
    // Every handle is owned from here on: after a refused one, the rest are freed, not leaked.
    var gradients: [Tensor?] = []
    var refusal: TorchError?
    for handle in results {
        guard let handle else {
            gradients.append(nil)
            continue
        }
        if refusal != nil {
            ct_free(handle)
            continue
        }
        do { gradients.append(try Tensor(owning: handle)) } catch { refusal = error }
    }
    if let refusal { throw refusal }
    return gradients
}

/// Runs `body` without recording autograd history (torch.no_grad) on this thread.
public func withNoGrad<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    try withGradMode(false, body)
}

/// Runs `body` with gradient recording switched on or off, restoring the previous mode after.
public func withGradMode<R, E: Error>(_ enabled: Bool, _ body: () throws(E) -> R) throws(E) -> R {
    let previous = ct_grad_enabled()
    ct_set_grad_enabled(enabled)
    defer { ct_set_grad_enabled(previous) }
    return try body()
}

/// Runs `body` under automatic mixed precision on `device`'s kind: eligible ops (matmul, conv,
/// attention) run in `dtype` (bfloat16 or float16), precision-sensitive ones stay in float32
/// (torch.autocast).
/// With `enabled: false` it switches autocast off inside, for math that must stay in float32.
public func withAutocast<R>(device: Device, dtype: DType = .bfloat16, enabled: Bool = true, _ body: () throws -> R) throws -> R {
    var wasOn = false
    var wasCode: Int32 = 0
    try check(ct_set_autocast(device.kind, enabled, dtype.code, &wasOn, &wasCode))
    func restore() throws(TorchError) {
        var ignoredOn = false
        var ignoredCode: Int32 = 0
        try check(ct_set_autocast(device.kind, wasOn, wasCode, &ignoredOn, &ignoredCode))
    }
    let result: R
    do { result = try body() } catch {
        try? restore()  // the body's error is the one to report
        throw error
    }
    // A state that cannot be restored would leave every later op on this thread in reduced precision.
    try restore()
    return result
}
