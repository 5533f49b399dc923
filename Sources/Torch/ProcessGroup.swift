// Data-parallel communication on libtorch's c10d, as torch.distributed does it: a TCPStore
// rendezvous served by rank 0, a Gloo process group for the collectives, and with `.nccl`, c10d's
// NCCL process group for CUDA tensors (torch.distributed's "cpu:gloo,cuda:nccl").
import CTorch

/// The processes of one data-parallel run; every rank must call each collective in the same order.
public final class ProcessGroup: @unchecked Sendable {
    public enum ReduceOp: Int32, Sendable { case sum = 0, max = 1, min = 2 }
    /// What reduces CUDA tensors: Gloo (through host memory), or NCCL (GPU to GPU). CPU tensors
    /// always go through Gloo.
    public enum Backend: Int32, Sendable, CaseIterable { case gloo = 0, nccl = 1 }

    /// Nil where NCCL can be used in this process, else why not (a CPU build, no GPU, a shim built
    /// without libmagvit_nccl.so).
    public static var ncclUnavailable: String? {
        ct_dist_nccl_available().map { TorchError(shimMessage: String(cString: $0)).message }
    }

    public let rank: Int
    public let worldSize: Int
    /// Seconds a rendezvous or collective waits for the other ranks before failing.
    public let timeout: Double
    let handle: OpaquePointer

    public let backend: Backend

    /// Joins the group: rank 0 serves the store at host:port and every rank connects to it; waits
    /// up to `timeout` seconds for all `worldSize` ranks. With `.nccl`, CUDA tensors are reduced by
    /// NCCL on GPU `device` (the local rank's).
    public init(host: String, port: Int, rank: Int, worldSize: Int, timeout: Double, backend: Backend = .gloo, device: Int = 0) throws(TorchError) {
        var out: OpaquePointer?
        // The shim takes 32-bit ints: a world of 2^31 processes is refused here, not trapped.
        let (port32, rank32, world32, device32): (Int32, Int32, Int32, Int32), milliseconds: Int
        do {
            world32 = try Checked.integer(worldSize, as: Int32.self, "the world size", in: 1...Int32.max)
            rank32 = try Checked.integer(rank, as: Int32.self, "the rank", in: 0...world32 - 1)
            port32 = try Checked.integer(port, as: Int32.self, "the port", in: 1...65535)
            device32 = try Checked.integer(device, as: Int32.self, "the GPU index", in: 0...Int32.max)
            milliseconds = try Checked.int(clamping: timeout * 1000, to: 1...Int(Int32.max), "the timeout in milliseconds")
        } catch { throw TorchError(op: "dist_init", message: error.description) }
        try check(ct_dist_init(host, port32, rank32, world32, Int64(milliseconds), backend.rawValue, device32, &out))
        guard let out else { throw TorchError(op: "dist_init", message: "the shim returned no process group") }
        handle = out
        self.rank = rank
        self.worldSize = worldSize
        self.timeout = timeout
        self.backend = backend
    }

    deinit { ct_dist_free(handle) }

    /// Reduces each tensor in place over every rank.
    public func allReduce(_ tensors: [Tensor], op: ReduceOp = .sum) throws(TorchError) {
        var handles: [OpaquePointer?] = tensors.map { $0.handle }
        try withExtendedLifetime(tensors) { () throws(TorchError) in
            try check(ct_dist_all_reduce(handle, &handles, Int32(handles.count), op.rawValue))
        }
    }

    /// Copies each tensor of `root` into the same tensor of every other rank.
    public func broadcast(_ tensors: [Tensor], root: Int = 0) throws(TorchError) {
        var handles: [OpaquePointer?] = tensors.map { $0.handle }
        try withExtendedLifetime(tensors) { () throws(TorchError) in
            try check(ct_dist_broadcast(handle, &handles, Int32(handles.count), Int32(root)))
        }
    }

    /// Waits until every rank has arrived.
    public func barrier() throws(TorchError) { try check(ct_dist_barrier(handle)) }
}
