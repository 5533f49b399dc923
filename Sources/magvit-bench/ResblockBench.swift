// `magvit-bench resblock` (the default): a causal 3D residual block, forward + backward, and the
// per-call overhead of a tiny op, ours against Python torch (benchmarks/resblock.py) in one run.
import ArgumentParser
import Foundation
import NN
import Torch

struct ResblockBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resblock",
        abstract: "A causal 3D residual block (forward + backward) and the per-call overhead of a tiny op, against Python torch.")

    @OptionGroup var python: PythonOption
    @Option(help: "Input N,C,T,H,W, with C a multiple of 32.") var shape = IntegerList([1, 64, 17, 64, 64])
    @OptionGroup var cpu: ThreadsOption
    @Option(help: "Untimed iterations first.") var warmup = 2
    @Option(help: "Timed iterations.") var iterations = 5
    @Option(help: "Calls of a one-element add to time the per-call overhead.") var tinyCalls = 100_000
    @OptionGroup var device: DeviceOption

    func validate() throws {
        guard shape.values.count == 5, shape.values[1] % 32 == 0 else {
            throw ValidationError("--shape needs N,C,T,H,W with C a multiple of 32, got '\(shape)'")
        }
        try requirePositive(["--warmup": warmup, "--iterations": iterations, "--tiny-calls": tinyCalls])
    }

    func run() throws {
        let device = try self.device.resolved()
        print("causal 3D residual block, input \(shape.values.map(String.init).joined(separator: "x")) float32, forward+backward, \(cpu.threads) threads, \(device)")
        let swift = try measureSwift(device: device)
        print(String(format: "swift  (libtorch %@): median %.4f s, min %.4f s, tiny add %.2f us/call%@", Torch.version,
                     swift.median, swift.min, swift.tinyMicroseconds, swift.peakBytes > 0 ? ", peak \(swift.peakBytes >> 20) MiB" : ""))
        guard let python = python.resolved else {
            print("python: skipped (give --python PATH or set MAGVIT_BENCH_PYTHON to an interpreter with torch; scripts/bench-venv.sh makes one)")
            return
        }
        let (py, version) = try measurePython(python, device: device)
        print(String(format: "python (torch %@): median %.4f s, min %.4f s, tiny add %.2f us/call%@", version,
                     py.median, py.min, py.tinyMicroseconds, py.peakBytes > 0 ? ", peak \(py.peakBytes >> 20) MiB" : ""))
        print(String(format: "ratio swift/python: block median %.3f (target <= 1.05), tiny-op overhead %.3f",
                     swift.median / py.median, swift.tinyMicroseconds / py.tinyMicroseconds))
    }

    struct Measurement {
        var median: Double
        var min: Double
        var tinyMicroseconds: Double
        var peakBytes: Int
    }

    /// The block of benchmarks/resblock.py: x + CausalConv(SiLU(GN(CausalConv(SiLU(GN(x)))))).
    func measureSwift(device: Device) throws -> Measurement {
        cpu.apply()
        Torch.manualSeed(0)
        let c = shape.values[1]
        let scale = 1 / Double(c * 27).squareRoot()
        func param(_ shape: [Int], _ s: Double = 1) throws -> Tensor { try (Tensor.randn(shape, device: device) * s).requiresGrad(true) }
        let (n1w, n1b, c1w, c1b) = (try param([c]), try param([c]), try param([c, c, 3, 3, 3], scale), try param([c]))
        let (n2w, n2b, c2w, c2b) = (try param([c]), try param([c]), try param([c, c, 3, 3, 3], scale), try param([c]))
        let parameters = [n1w, n1b, c1w, c1b, n2w, n2b, c2w, c2b]
        let x = try Tensor.randn(shape.values, device: device)
        func causalConv(_ v: Tensor, _ w: Tensor, _ b: Tensor) throws -> Tensor {
            try conv(v.pad([1, 1, 1, 1, 2, 0]), weight: w, bias: b)
        }
        func block(_ v: Tensor) throws -> Tensor {
            var h = try causalConv(groupNorm(v, groups: 32, weight: n1w, bias: n1b, eps: 1e-6).silu(), c1w, c1b)
            h = try causalConv(groupNorm(h, groups: 32, weight: n2w, bias: n2b, eps: 1e-6).silu(), c2w, c2b)
            return try v + h
        }
        if case .cuda = device { _ = try Torch.cudaMemory(resetPeak: true) }
        var times: [Double] = []
        for i in 0..<(warmup + iterations) {
            try Torch.synchronize()
            let start = now()
            try block(x).square().mean().backward()
            for p in parameters { try p.zeroGrad() }
            try Torch.synchronize()
            if i >= warmup { times.append(now() - start) }
        }
        var peak = 0
        if case .cuda = device { peak = try Torch.cudaMemory().peak }
        let one = try Tensor.ones([1], device: device)
        let two = try Tensor.ones([1], device: device)
        for _ in 0..<1000 { _ = try one + two }
        try Torch.synchronize()
        let start = now()
        for _ in 0..<tinyCalls { _ = try one + two }
        try Torch.synchronize()
        let tiny = (now() - start) / Double(tinyCalls)
        times.sort()
        return Measurement(median: times[times.count / 2], min: times[0], tinyMicroseconds: tiny * 1e6, peakBytes: peak)
    }

    func measurePython(_ python: String, device: Device) throws -> (Measurement, String) {
        let json = try runPeer(python, script: "resblock.py", [
            "--shape", "\(shape)", "--threads", "\(cpu.threads)", "--warmup", "\(warmup)", "--iterations", "\(iterations)",
            "--tiny-calls", "\(tinyCalls)", "--device", device == .cpu ? "cpu" : "cuda",
        ], peer: "Python")
        guard let median = json["median_s"] as? Double, let min = json["min_s"] as? Double, let tiny = json["tiny_add_us"] as? Double else {
            throw BenchError("the Python side gave no timings: \(json)")
        }
        return (Measurement(median: median, min: min, tinyMicroseconds: tiny, peakBytes: json["peak_bytes"] as? Int ?? 0),
                json["torch"] as? String ?? "?")
    }
}
