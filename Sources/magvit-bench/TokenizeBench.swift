// `magvit-bench tokenize`: dataset tokenization throughput. The shipped video tokenizer over a folder
// of videos (the sample clips by default) with 1 and 2 decode workers, against one `magvit encode`
// process per file; and the same pipeline with an image tokenizer (every frame a 1-frame clip)
// against Open-MAGVIT2's PyTorch encoder holding the same weights, fed the same frames by ffmpeg.
// The sides alternate and repeat; medians are printed with the ratios.
import ArgumentParser
import Dataset
import Foundation
import NN
import Tokenizer
import Torch

struct TokenizeBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Dataset tokenization: decode workers, per-file encode processes, Open-MAGVIT2's pipeline.")

    @OptionGroup var python: PythonOption
    @OptionGroup var cpu: ThreadsOption
    @Option(help: "Folder of videos (default: the sample clips in .deps/media).") var videos: String?
    @Option(help: "Rounds of every side, alternating.") var repeats = 3
    @Option(help: "Clips (frames, for the image model) per model call.") var batch = 8

    func validate() throws { try requirePositive(["--repeats": repeats, "--batch": batch]) }

    func run() throws {
        cpu.apply()
        let files = try InputList.expand([videos ?? repositoryRoot.appendingPathComponent(".deps/media").path]).files
        let shipped = ShippedResources.defaultTokenizer
        let video = try VideoTokenizer.load(from: shipped)
        var imageConfig = TokenizerConfig.image128
        (imageConfig.name, imageConfig.baseChannels, imageConfig.channelMultipliers, imageConfig.resolution) = ("image-64", 32, [1, 2, 2, 4], 64)
        imageConfig.quantizer = QuantizerConfig(kind: .lfq, bits: 18)
        Torch.manualSeed(0)
        let image = try VideoTokenizer(config: imageConfig)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-bench-tokenize-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try exportForOpenMagvit2(image, to: folder)
        let tool = ToolOption.beside
        print("\(files.count) videos; \(video.config.name) (\(video.config.clipFrames)-frame clips at \(video.config.resolution)x\(video.config.resolution)) and \(imageConfig.name) (\(image.parameterCount / 1_000_000)M parameters); \(cpu.threads) threads, batch \(batch)")

        var rates: [String: [Double]] = [:]
        var clips = 0, frames = 0
        func tokenize(_ model: VideoTokenizer, workers: Int, _ key: String) throws {
            let output = folder.appendingPathComponent("ds-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: output) }
            var options = TokenizeOptions()
            (options.batch, options.workers) = (batch, workers)
            let start = now()
            let index = try Tokenization(model: model, inputs: InputList(files: files), labels: .none, output: output, options: options).run()
            rates[key, default: []].append(Double(index.clips) / (now() - start))
            if model === video { clips = index.clips } else { frames = index.clips }
        }
        for round in 1...repeats {
            try tokenize(video, workers: 1, "tokenize, 1 worker")
            try tokenize(video, workers: 2, "tokenize, 2 workers")
            if FileManager.default.isExecutableFile(atPath: tool) {
                let start = now()
                for file in files {
                    let p = Process()
                    p.executableURL = URL(fileURLWithPath: tool)
                    p.arguments = ["encode", file, "-o", folder.appendingPathComponent("one.mgvt").path, "--size", "64x64", "--threads", "\(cpu.threads)",
                                   "--checkpoint", shipped.path]
                    p.standardOutput = FileHandle.nullDevice
                    p.standardError = FileHandle.nullDevice
                    try p.run()
                    p.waitUntilExit()
                    guard p.terminationStatus == 0 else { throw BenchError("magvit encode \(file) failed") }
                }
                rates["encode, a process per file", default: []].append(Double(clips) / (now() - start))
            }
            try tokenize(image, workers: 2, "image tokenize, 2 workers")
            if let python = self.python.resolved {
                let json = try runPeer(python, script: "open_magvit2_tokenize.py",
                                       [folder.path] + files + ["--size", "64", "--batch", "\(batch)", "--threads", "\(cpu.threads)"], peer: "Open-MAGVIT2")
                guard let n = json["frames"] as? Int, let s = json["seconds"] as? Double else { throw BenchError("Open-MAGVIT2 gave \(json)") }
                rates["Open-MAGVIT2 pipeline", default: []].append(Double(n) / s)
            }
            FileHandle.standardError.write(Data("round \(round)/\(repeats) done\n".utf8))
        }
        func median(_ key: String) -> Double? { rates[key].map { $0.sorted()[$0.count / 2] } }
        for key in ["tokenize, 1 worker", "tokenize, 2 workers", "encode, a process per file"] {
            guard let m = median(key) else { print("\(key): skipped (build the magvit tool beside magvit-bench)"); continue }
            print(String(format: "%@: %.2f clips/s (%d clips; rounds %@)", key, m, clips, rates[key]!.map { String(format: "%.2f", $0) }.joined(separator: ", ")))
        }
        if let one = median("tokenize, 1 worker"), let two = median("tokenize, 2 workers") {
            print(String(format: "ratio 2 workers / 1 worker: %.2f", two / one))
            if let e = median("encode, a process per file") { print(String(format: "ratio tokenize (2 workers) / encode per file: %.2f", two / e)) }
        }
        let ours = median("image tokenize, 2 workers")!
        print(String(format: "image tokenize, 2 workers: %.1f frames/s (%d frames)", ours, frames))
        if let theirs = median("Open-MAGVIT2 pipeline") {
            print(String(format: "Open-MAGVIT2 pipeline: %.1f frames/s; ratio ours/theirs %.2f (target >= 1.0)", theirs, ours / theirs))
        } else {
            print("Open-MAGVIT2: skipped (give --python PATH to a Python with torch and open-magvit2; scripts/bench-venv.sh makes one)")
        }
    }
}

/// Writes an image tokenizer's weights under Open-MAGVIT2's names (ours; causal 3D kernels of
/// temporal size 1 squeezed to 2D) and its settings, for the Python peers.
func exportForOpenMagvit2(_ model: VideoTokenizer, to folder: URL) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var weights: [String: Tensor] = [:]
    for (name, t) in model.store.tensors { weights[name] = t.rank == 5 ? try t.squeeze(2) : t }
    try SafeTensors.write(weights, to: folder.appendingPathComponent("weights.safetensors"))
    let c = model.config
    let settings: [String: Any] = ["ch": c.baseChannels, "mult": c.channelMultipliers, "blocks": c.residualBlocks,
                                   "bits": c.quantizer.bits, "resolution": c.resolution]
    try JSONSerialization.data(withJSONObject: settings).write(to: folder.appendingPathComponent("config.json"))
}
