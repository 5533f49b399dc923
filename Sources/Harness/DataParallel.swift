// Data-parallel training over torch.distributed's c10d (ProcessGroup): where a run's ranks come from
// (torchrun's and SLURM's environment variables, or --dist-url), and what the harness and trainers
// do with the group: each rank makes only its rows of the global batch, gradients are averaged in
// flattened buckets with all-reduce started during the last micro-batch's backward (as PyTorch's DDP
// does), logged numbers and running statistics are averaged, and the LFQ codebook entropy is taken
// over the global batch.
import Foundation
import NN
import Torch

/// Where this process stands in a multi-process run.
public struct DistributedEnvironment: Sendable, Equatable {
    public var rank: Int
    public var worldSize: Int
    public var localRank: Int
    public var host: String
    public var port: Int

    public init(rank: Int, worldSize: Int, localRank: Int, host: String, port: Int) {
        (self.rank, self.worldSize, self.localRank, self.host, self.port) = (rank, worldSize, localRank, host, port)
    }

    /// torchrun's RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; else SLURM's SLURM_PROCID,
    /// SLURM_NTASKS, SLURM_LOCALID with MASTER_ADDR/MASTER_PORT; `distURL` (tcp://host:port) replaces
    /// the address. Nil when no world of more than one process is described.
    public static func detect(_ environment: [String: String] = ProcessInfo.processInfo.environment, distURL: String? = nil) throws -> DistributedEnvironment? {
        func int(_ key: String) throws -> Int? {
            guard let text = environment[key] else { return nil }
            guard let value = Int(text), value >= 0 else { throw ConfigError("\(key) must be a non-negative integer, got '\(text)'") }
            return value
        }
        let world = try int("WORLD_SIZE") ?? int("SLURM_NTASKS") ?? 1
        // No processes is no run (not a single-process one), and the process group counts in 32 bits.
        guard (1...Int(Int32.max)).contains(world) else { throw ConfigError("WORLD_SIZE (or SLURM_NTASKS) must be 1...\(Int32.max), got \(world)") }
        guard world > 1 else { return nil }
        guard let rank = try int("RANK") ?? int("SLURM_PROCID") else { throw ConfigError("WORLD_SIZE is \(world) but RANK (or SLURM_PROCID) is not set") }
        guard rank < world else { throw ConfigError("RANK \(rank) is not below WORLD_SIZE \(world)") }
        let local = try int("LOCAL_RANK") ?? int("SLURM_LOCALID") ?? rank
        var host = environment["MASTER_ADDR"], port = try int("MASTER_PORT")
        if let distURL {
            guard distURL.hasPrefix("tcp://"), let colon = distURL.lastIndex(of: ":"), let p = Int(distURL[distURL.index(after: colon)...]),
                  colon > distURL.index(distURL.startIndex, offsetBy: 5) else {
                throw ConfigError("--dist-url must be tcp://HOST:PORT, got '\(distURL)'")
            }
            host = String(distURL[distURL.index(distURL.startIndex, offsetBy: 6)..<colon])
            port = p
        }
        guard let host, let port, (1...65535).contains(port) else {
            throw ConfigError("a run of \(world) processes needs MASTER_ADDR and MASTER_PORT (1-65535), or --dist-url tcp://HOST:PORT")
        }
        return DistributedEnvironment(rank: rank, worldSize: world, localRank: local, host: host, port: port)
    }

    /// Joins the process group (c10d TCPStore rendezvous, Gloo, and NCCL for CUDA tensors on the local
    /// rank's GPU with `.nccl`).
    public func join(timeout: Double, backend: ProcessGroup.Backend = .gloo) throws -> DataParallel {
        if backend == .nccl, let why = ProcessGroup.ncclUnavailable {
            throw ConfigError("rank \(rank) of \(worldSize): run.backend is nccl, but \(why); use run.backend gloo (or auto)")
        }
        try Rendezvous.check(host: host, port: port, rank: rank, worldSize: worldSize, timeout: timeout)
        do {
            return DataParallel(try Rendezvous.withoutBacktraces { () throws(TorchError) in
                try ProcessGroup(host: host, port: port, rank: rank, worldSize: worldSize, timeout: timeout, backend: backend, device: localRank)
            })
        } catch {
            throw ConfigError("rank \(rank) of \(worldSize): could not join the others at \(host):\(port) within \(Int(timeout)) s: \(error.message)")
        }
    }
}

/// What trainers and the harness do with a process group.
public final class DataParallel: DataParallelRanks, @unchecked Sendable {
    public let group: ProcessGroup
    public var rank: Int { group.rank }
    public var worldSize: Int { group.worldSize }
    public var isMain: Bool { group.rank == 0 }
    /// Gradients are reduced in flat buckets of at most this many elements, the first of at most 2^18
    /// (read when a model's reducer is made, at its first step).
    public var bucketElements = 1 << 22
    /// Whether the all-reduce of a bucket starts during the last micro-batch's backward, as soon as its
    /// gradients are final (true), or every bucket's after backward (false: nothing overlapped).
    public var overlapsReduction = true
    /// Each model's reducer (keyed by its parameters) and the backward passes it has seen this step.
    var reducers: [[ObjectIdentifier]: (reducer: GradientReducer, backwards: Int)] = [:]
    /// Seconds spent waiting in `averageGradients` (the all-reduce not hidden behind backward), and
    /// buckets started during backward / in all, summed over the calls (for benchmarks).
    public private(set) var reductionWait = 0.0, bucketsStartedEarly = 0, bucketsReduced = 0

    public init(_ group: ProcessGroup) { self.group = group }

    /// Runs a collective, turning a failure (a rank died or stopped answering) into one message.
    func collective<R>(_ what: String, _ body: () throws -> R) throws -> R {
        do { return try body() } catch let error as TorchError {
            throw ConfigError("rank \(rank) of \(worldSize): \(what) with the other ranks failed (a rank died, or did not answer within \(Int(group.timeout)) s): \(error.message)")
        }
    }

    /// This rank's rows of a global batch (B, ...): rows rank·B/W ..< (rank+1)·B/W.
    public func slice(_ batch: Tensor) throws -> Tensor {
        let rows = rows(of: batch.size(0))
        return try batch.narrow(0, start: rows.lowerBound, length: rows.count)
    }

    /// The rows of a global batch of `batch` examples this rank computes: what a sharded data source
    /// makes, instead of making the whole batch and slicing it.
    public func rows(of batch: Int) -> Range<Int> { Self.rows(of: batch, rank: rank, worldSize: worldSize) }

    /// Rank `rank`'s rows of a global batch of `batch` among `worldSize` ranks: rank·B/W ..< (rank+1)·B/W.
    public static func rows(of batch: Int, rank: Int, worldSize: Int) -> Range<Int> {
        let n = batch / worldSize
        return rank * n ..< (rank + 1) * n
    }

    /// The key of a model's reducer, which is made at the parameters' first use (it hooks them for good).
    func reducerKey(_ parameters: [(name: String, tensor: Tensor)]) throws -> [ObjectIdentifier] {
        let key = parameters.map { ObjectIdentifier($0.tensor) }
        if reducers[key] == nil {
            reducers[key] = (try GradientReducer(group: group, parameters: parameters.map(\.tensor), bucketElements: bucketElements), 0)
        }
        return key
    }

    /// `loss.backward()` for one of a step's `microBatches` micro-batches whose gradients reach
    /// `parameters`: the last one's backward starts each bucket's all-reduce as soon as backward has
    /// produced its gradients (the earlier ones only accumulate, as under DDP's no_sync).
    /// `averageGradients(parameters)` then waits for them.
    public func backward(_ loss: Tensor, reducing parameters: [(name: String, tensor: Tensor)], microBatches: Int) throws {
        let key = try reducerKey(parameters)
        reducers[key]!.backwards += 1
        if overlapsReduction && reducers[key]!.backwards == microBatches { try reducers[key]!.reducer.arm() }
        try loss.backward()
    }

    /// Replaces every gradient with its mean over the ranks, in flattened buckets: waits for those
    /// `backward(_:reducing:microBatches:)` started and reduces the rest. Every rank runs the same
    /// code, so the same parameters have gradients (those without are left out everywhere).
    public func averageGradients(_ parameters: [(name: String, tensor: Tensor)]) throws {
        let key = try reducerKey(parameters)
        reducers[key]!.backwards = 0
        let reducer = reducers[key]!.reducer
        let start = DispatchTime.now().uptimeNanoseconds
        bucketsStartedEarly += try collective("all-reducing gradients") { try reducer.finish() }
        bucketsReduced += reducer.buckets
        reductionWait += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// The mean of each number over the ranks (every rank passes the same keys).
    public func mean(_ values: [String: Double]) throws -> [String: Double] {
        let keys = values.keys.sorted()
        guard !keys.isEmpty else { return values }
        let t = try Tensor(keys.map { values[$0]! }, shape: [keys.count])
        try collective("averaging the logged numbers") { try group.allReduce([t]) }
        let sums = try t.toArray(Double.self)
        return Dictionary(uniqueKeysWithValues: zip(keys, sums.map { $0 / Double(worldSize) }))
    }

    /// The smallest of a number over the ranks.
    public func minimum(_ value: Int) throws -> Int {
        let t = try Tensor([Int64(value)], shape: [1])
        try collective("agreeing on a step count") { try group.allReduce([t], op: .min) }
        return Int(try t.toArray(Int64.self)[0])
    }

    /// The sum of a tensor over the ranks (a new tensor; `x` is unchanged).
    public func sum(_ x: Tensor) throws -> Tensor {
        let total = try x.detach().clone()
        try collective("summing over the ranks") { try group.allReduce([total]) }
        return total
    }

    /// The mean over the ranks of a per-rank batch mean, differentiable in this rank's part: the value
    /// is the global mean, and the gradient reaches this rank's inputs as if the other ranks' parts
    /// were constants (gradients are then averaged over ranks, which gives the gradient of the
    /// global batch).
    public func globalMean(_ local: Tensor) throws -> Tensor {
        let total = try sum(local)
        return try local + (total / Double(worldSize) - local.detach())
    }

    /// Waits for every rank.
    public func barrier(_ what: String) throws {
        try collective(what) { try group.barrier() }
    }
}
