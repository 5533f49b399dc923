// `magvit-bench tokenizer`: encode and decode throughput of our tokenizer against Open-MAGVIT2's
// PyTorch model holding the same weights (the image-128 preset: 128×128 images, and a 17-frame clip
// tokenized frame by frame), in one run, with peak memory and the ratio ours/theirs.
import ArgumentParser
import Foundation
import NN
import Tokenizer
import Torch

struct TokenizerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Encode/decode throughput against Open-MAGVIT2 with the same weights.")

    @OptionGroup var python: PythonOption
    @OptionGroup var cpu: ThreadsOption
    @Option(help: "Untimed iterations first.") var warmup = 1
    @Option(help: "Timed iterations.") var iterations = 3
    @OptionGroup var device: DeviceOption
    @Flag(help: "Also a 17x128x128 clip (slow on CPU).") var video = false
    @Flag(name: [.customLong("small")], help: "Base channels 32 instead of 128.") var smallModel = false
    @Option(help: "With --video, the video-128 preset's batch sizes: images/s and clips/s at each (e.g. 1,8,32 on a GPU).")
    var batches = IntegerList([1])

    func validate() throws {
        try requirePositive(["--warmup": warmup, "--iterations": iterations])
        if batches.values != [1] && !video { throw ValidationError("--batches needs --video (they are the video-128 preset's)") }
    }
}

extension TokenizerBench {
    func run() throws {
        let device = try self.device.resolved()
        cpu.apply()
        Torch.manualSeed(0)
        var config = TokenizerConfig.image128
        if smallModel { config.baseChannels = 32 }
        let model = try VideoTokenizer(config: config, device: device)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-bench-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Our names are Open-MAGVIT2's; their convolutions are 2D, ours causal 3D with a temporal kernel of 1.
        try exportForOpenMagvit2(model, to: folder)
        var inputs: [String: Tensor] = ["image": try Tensor.rand([1, 3, 128, 128]) * 2 - 1]
        if video { inputs["video"] = try Tensor.rand([1, 3, 17, 128, 128]) * 2 - 1 }
        try SafeTensors.write(inputs, to: folder.appendingPathComponent("inputs.safetensors"))

        print("tokenizer \(config.name) (base channels \(config.baseChannels), \(model.parameterCount / 1_000_000)M parameters), \(cpu.threads) threads, \(device)")
        var ours: [String: Timing] = [:]
        var reconstructions: [String: Tensor] = [:]
        for name in inputs.keys.sorted() {
            let (timing, reconstruction) = try time(model, inputs[name]!.to(device), self)
            ours[name] = timing
            reconstructions[name] = try reconstruction.to(.float32, .cpu)
            print(String(format: "ours   %@: %d frame(s), encode %.1f frames/s, decode %.1f frames/s, peak %d MiB",
                         name, timing.frames, Double(timing.frames) / timing.encode, Double(timing.frames) / timing.decode, timing.peak >> 20))
        }
        if video {
            // The paper's video tokenizer has no peer to compare with; its own throughput for the record.
            let paperModel = try VideoTokenizer(config: .videoPaper, device: device)
            for b in batches.values {
                for frames in [1, 17] {
                    let (timing, _) = try time(paperModel, try Tensor.rand([b, 3, frames, 128, 128]) * 2 - 1, self)
                    let unit = frames == 1 ? "images" : "clips"
                    print(String(format: "ours   video-128 preset (%dM parameters), batch %d of %dx128x128: encode %.1f %@/s, decode %.1f %@/s (%.1f, %.1f frames/s), peak %d MiB",
                                 paperModel.parameterCount / 1_000_000, b, frames, Double(b) / timing.encode, unit, Double(b) / timing.decode, unit,
                                 Double(b * frames) / timing.encode, Double(b * frames) / timing.decode, timing.peak >> 20))
                }
            }
        }
        guard let python = self.python.resolved else {
            print("Open-MAGVIT2: skipped (give --python PATH to a Python with torch and open-magvit2; scripts/bench-venv.sh makes one)")
            return
        }
        let json = try runPeer(python, script: "open_magvit2_bench.py", [
            folder.path, "--threads", "\(cpu.threads)", "--warmup", "\(warmup)", "--iterations", "\(iterations)",
            "--device", device == .cpu ? "cpu" : "cuda",
        ], peer: "Open-MAGVIT2")
        guard let results = json["results"] as? [String: [String: Any]] else {
            throw BenchError("the Open-MAGVIT2 side gave no results: \(json)")
        }
        let theirs = try SafeTensors.read(folder.appendingPathComponent("open_magvit2_reconstructions.safetensors")).tensors
        for name in inputs.keys.sorted() {
            guard let r = results[name], let encode = r["encode_s"] as? Double, let decode = r["decode_s"] as? Double else { continue }
            let mine = ours[name]!
            let peak = r["peak_bytes"] as? Int ?? 0
            // Their reconstruction is (T, C, H, W) for a clip; ours (1, C, T, H, W).
            var our = try reconstructions[name]!.squeeze(0)
            if our.rank == 4 && name == "video" { our = try our.transpose(0, 1) } else if our.rank == 4 { our = try our.squeeze(1) }
            let difference = try (our - theirs[name]!.squeeze(0)).abs().max().item()
            print(String(format: "Open-MAGVIT2 (torch %@) %@: encode %.1f frames/s, decode %.1f frames/s, peak %d MiB; max |ours - theirs| = %.2e",
                         json["torch"] as? String ?? "?", name, Double(mine.frames) / encode, Double(mine.frames) / decode, peak >> 20, difference))
            print(String(format: "ratio ours/theirs %@: encode throughput %.3f, decode throughput %.3f, peak memory %.2f (target throughput >= 1.0)",
                         name, encode / mine.encode, decode / mine.decode, Double(mine.peak) / Double(Swift.max(peak, 1))))
        }
    }
}

struct Timing {
    var frames: Int
    var encode: Double
    var decode: Double
    var peak: Int
}

/// Median encode and decode times over the timed iterations, and the peak memory of the whole loop.
func time(_ model: VideoTokenizer, _ input: Tensor, _ o: TokenizerBench) throws -> (Timing, Tensor) {
    let x = try input.to(model.device)
    var encodeTimes: [Double] = [], decodeTimes: [Double] = []
    let baseline = try resetPeakMemory(model.device)
    var reconstruction: Tensor?
    for i in 0..<(o.warmup + o.iterations) {
        try Torch.synchronize()
        let t0 = now()
        let ids = try model.encode(x)
        try Torch.synchronize()
        let t1 = now()
        reconstruction = try model.decode(ids)
        try Torch.synchronize()
        let t2 = now()
        if i >= o.warmup {
            encodeTimes.append(t1 - t0)
            decodeTimes.append(t2 - t1)
        }
    }
    encodeTimes.sort()
    decodeTimes.sort()
    let timing = Timing(frames: x.rank == 5 ? x.size(2) : 1, encode: encodeTimes[encodeTimes.count / 2],
                        decode: decodeTimes[decodeTimes.count / 2], peak: try peakMemory(model.device, since: baseline))
    return (timing, reconstruction!)
}

/// Peak memory of a measured section: the CUDA allocator's peak on a GPU; on the CPU the growth of
/// the resident high-water mark over the resident size at the start (so the runtimes' own
/// footprints, Python's included, are not counted).
func resetPeakMemory(_ device: Device) throws -> Int {
    if case .cuda = device {
        _ = try Torch.cudaMemory(resetPeak: true)
        return 0
    }
    try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    return statusField("VmRSS:")
}

func peakMemory(_ device: Device, since baseline: Int) throws -> Int {
    if case .cuda = device { return try Torch.cudaMemory().peak }
    return statusField("VmHWM:") - baseline
}

private func statusField(_ name: String) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
          let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb * 1024
}
