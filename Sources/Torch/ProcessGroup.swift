// Data-parallel communication on libtorch's c10d, as torch.distributed does it: a TCPStore
// rendezvous served by rank 0 and a Gloo process group for the collectives (CPU tensors).
import CTorch

/// The processes of one data-parallel run; every rank must call each collective in the same order.
public final class ProcessGroup: @unchecked Sendable {
    public enum ReduceOp: Int32, Sendable { case sum = 0, max = 1, min = 2 }

    public let rank: Int
    public let worldSize: Int
    /// Seconds a rendezvous or collective waits for the other ranks before failing.
    public let timeout: Double
    let handle: OpaquePointer

    /// Joins the group: rank 0 serves the store at host:port and every rank connects to it; waits
    /// up to `timeout` seconds for all `worldSize` ranks.
    public init(host: String, port: Int, rank: Int, worldSize: Int, timeout: Double) throws(TorchError) {
        var out: OpaquePointer?
        // The shim takes 32-bit ints: a world of 2^31 processes is refused here, not trapped.
        let (port32, rank32, world32): (Int32, Int32, Int32), milliseconds: Int
        do {
            world32 = try Checked.integer(worldSize, as: Int32.self, "the world size", in: 1...Int32.max)
            rank32 = try Checked.integer(rank, as: Int32.self, "the rank", in: 0...world32 - 1)
            port32 = try Checked.integer(port, as: Int32.self, "the port", in: 1...65535)
            milliseconds = try Checked.int(clamping: timeout * 1000, to: 1...Int(Int32.max), "the timeout in milliseconds")
        } catch { throw TorchError(op: "dist_init", message: error.description) }
        try check(ct_dist_init(host, port32, rank32, world32, Int64(milliseconds), &out))
        guard let out else { throw TorchError(op: "dist_init", message: "the shim returned no process group") }
        handle = out
        self.rank = rank
        self.worldSize = worldSize
        self.timeout = timeout
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
