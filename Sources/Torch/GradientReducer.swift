// Gradient all-reduce overlapped with the backward pass, as PyTorch's DistributedDataParallel does it
// (its C++ Reducer; Li et al., "PyTorch Distributed: Experiences on Accelerating Data Parallel
// Training", VLDB 2020): the shim hooks each parameter's gradient accumulator, and buckets of
// gradients, in reverse parameter order, start their all-reduce while backward is still running.
import CTorch

/// Averages a fixed list of parameters' gradients over a process group, overlapping the all-reduce
/// with `backward` when armed. Made once per model (the hooks stay on its parameters until it is
/// freed). A step is `arm()`, the backward of the last micro-batch, `finish()`:
///
///     for (i, part) in parts.enumerated() {
///         if i == parts.count - 1 { try reducer.arm() }   // earlier micro-batches only accumulate (DDP's no_sync)
///         try loss(part).backward()
///     }
///     try reducer.finish()   // every gradient is now its mean over the ranks
///
/// Without `arm()`, `finish()` reduces every bucket after backward (nothing overlapped). Every rank
/// must make the same calls in the same order.
public final class GradientReducer: @unchecked Sendable {
    public let group: ProcessGroup
    public let parameters: [Tensor]
    /// How many buckets the parameters make.
    public let buckets: Int
    let handle: OpaquePointer

    /// Hooks `parameters` (leaves that require grad) and buckets them, in reverse order, by at most
    /// `bucketElements` elements each, the first by at most 2^18 (as DDP's first bucket is 1 MB: what
    /// backward produces first starts early); a new bucket also where dtype or device changes.
    public init(group: ProcessGroup, parameters: [Tensor], bucketElements: Int = 1 << 22) throws(TorchError) {
        guard bucketElements >= 1 else { throw TorchError(op: "reducer_new", message: "bucketElements must be positive, got \(bucketElements)") }
        guard let count = Int32(exactly: parameters.count) else { throw TorchError(op: "reducer_new", message: "too many parameters (\(parameters.count))") }
        var handles: [OpaquePointer?] = parameters.map { $0.handle }
        var out: OpaquePointer?
        try withExtendedLifetime(parameters) { () throws(TorchError) in
            try check(ct_reducer_new(group.handle, &handles, count, Int64(bucketElements), &out))
        }
        guard let out else { throw TorchError(op: "reducer_new", message: "the shim returned no reducer") }
        handle = out
        buckets = Int(ct_reducer_buckets(out))
        self.group = group
        self.parameters = parameters
    }

    deinit { ct_reducer_free(handle) }

    /// Makes the next backward start each bucket's all-reduce as soon as its gradients are final.
    /// Call before the last micro-batch's backward; the earlier ones only accumulate.
    public func arm() throws(TorchError) { try check(ct_reducer_arm(handle)) }

    /// Starts the buckets backward did not (all of them when not armed), waits for every one and
    /// replaces each gradient with its mean over the ranks. Returns how many buckets started during
    /// backward. A failure in backward's hooks (a collective that could not start; a gradient
    /// accumulated twice after `arm()`) is thrown here.
    @discardableResult
    public func finish() throws(TorchError) -> Int {
        var early: Int32 = 0
        try check(ct_reducer_finish(handle, &early))
        return Int(early)
    }
}
