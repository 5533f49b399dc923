// `magvit-bench all-reduce`: all-reduce bandwidth of a process group, as nccl-tests' all_reduce_perf
// reports it (issue 36): for each size, the time of one in-place sum over the ranks, the algorithm
// bandwidth (bytes / time) and the bus bandwidth (× 2(W-1)/W, what each link carries in a ring).
// Under `magvit launch` (or torchrun) the ranks are the launcher's; alone it is a group of one, which
// still runs the backend end to end (NCCL's communicator and kernels on one GPU).
import ArgumentParser
import Foundation
import Harness
import Torch

struct AllReduceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "all-reduce",
        abstract: "All-reduce bandwidth of a process group (Gloo or NCCL) by message size.")

    @OptionGroup var device: DeviceOption
    @Option(help: "gloo or nccl (what reduces CUDA tensors; CPU tensors always take Gloo).") var backend = "gloo"
    @Option(help: "Message sizes in MiB (float32).") var sizes = IntegerList([1, 4, 16, 64, 256])
    @Option(help: "Timed all-reduces per size (after 2 untimed).") var iterations = 10

    func validate() throws {
        try requirePositive(["--iterations": iterations])
        guard ["gloo", "nccl"].contains(backend) else { throw ValidationError("--backend must be gloo or nccl, got '\(backend)'") }
    }

    func run() throws {
        let device = try self.device.resolved()
        let chosen: ProcessGroup.Backend = backend == "nccl" ? .nccl : .gloo
        let group: ProcessGroup
        if let environment = try DistributedEnvironment.detect() {
            group = try ProcessGroup(host: environment.host, port: environment.port, rank: environment.rank, worldSize: environment.worldSize,
                                     timeout: 600, backend: chosen, device: environment.localRank)
        } else {
            group = try ProcessGroup(host: "127.0.0.1", port: try Launcher.freePort(), rank: 0, worldSize: 1, timeout: 600, backend: chosen,
                                     device: { if case .cuda(let i) = device { i } else { 0 } }())
        }
        let w = Double(group.worldSize)
        if group.rank == 0 {
            print("all-reduce (sum, float32) over \(group.worldSize) rank(s), backend \(backend), tensors on \(device)")
            print("     MiB   ms each   algbw GB/s   busbw GB/s")
        }
        for mib in sizes.values {
            let x = try Tensor.ones([mib << 18], device: device)
            for _ in 0..<2 { try group.allReduce([x]) }
            try Torch.synchronize()
            let start = now()
            for _ in 0..<iterations { try group.allReduce([x]) }
            try Torch.synchronize()
            let seconds = (now() - start) / Double(iterations)
            let bytes = Double(mib << 20)
            if group.rank == 0 {
                print(String(format: "%8d  %8.3f  %11.2f  %11.2f", mib, seconds * 1000, bytes / seconds / 1e9, bytes / seconds / 1e9 * 2 * (w - 1) / w))
            }
        }
    }
}
