// The generator's commands: `magvit train-generator CONFIG`, `magvit generate` (class-conditional
// or unconditional samples) and `magvit predict` (continue a clip from its first frames).
import ArgumentParser
import Foundation
import Generator
import GeneratorModel
import Harness
import Media
import NN
import Torch

struct TrainGenerator: ParsableCommand {
    static let configuration = RecipeAlias.configuration(GeneratorTrainer.self, example: "configs/fashion-mnist-generator.yaml -o runs/generator", folder: """
        config.json, log.jsonl, tokens.safetensors (the training set encoded once), samples/*.png,
        checkpoint.safetensors (to --resume exactly) and generator.safetensors (for `magvit generate`).
        """)
    @OptionGroup var alias: RecipeAlias

    func run() throws { try alias.train(GeneratorTrainer.self) }
}

/// Decoding settings shared by generate and predict.
struct SamplingOptionGroup: ParsableArguments {
    @Option(help: "Decoding steps (masked), or Euler steps (diffusion); autoregressive models take one per token.") var steps = 12
    @Option(help: "Classifier-free guidance scale w: logits (1+w)·conditional − w·unconditional.") var guidance = 0.0
    @Option(help: "Softmax temperature of the token draws.") var temperature = 1.0
    @Option(help: "Draw each sub-token from its k most likely values (0: all).") var topK = 0
    @Option(help: "Random seed (the same seed gives the same samples).") var seed: UInt64 = 0

    var options: SamplingOptions {
        SamplingOptions(steps: steps, guidance: guidance, temperature: temperature, topK: topK, seed: seed)
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate images or videos with a trained generator.",
        discussion: """
            OUT ending in .png gets one grid; any other OUT is a folder that gets one file per sample (NNNNN-class-C.png, or .mp4
            for video models). Example: magvit generate --checkpoint runs/generator/generator.safetensors --class all --count 8 -o grid.png
            """)

    @Option(help: "Generator checkpoint (generator.safetensors of train-generator).") var checkpoint: String
    @Option(help: "Tokenizer to decode with (default: the one the generator names).") var tokenizer: String?
    @Option(name: .customLong("class"), help: "Class id, or 'all' for --count samples of every class (class-conditional models).") var classID: String?
    @Option(help: "Samples (per class with --class all).") var count = 8
    @Option(help: "Samples decoded per batch.") var batch = 100
    @Option(name: .shortAndLong, help: "Output .png grid or folder.") var output: String
    @OptionGroup var sampling: SamplingOptionGroup
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        guard count > 0, batch > 0 else { throw ValidationError("--count and --batch must be positive") }
        try OutputFiles.checkNotInput(output, inputs: [checkpoint] + (tokenizer.map { [$0] } ?? []))
        if URL(fileURLWithPath: output).pathExtension.lowercased() == "png" { try OutputFiles.checkDestination(output) } else { try OutputFiles.checkFolder(output) }
        let device = try runtime.apply()
        let g = try GeneratorCheckpoint(URL(fileURLWithPath: checkpoint), tokenizer: tokenizer, device: device)
        let config = g.network.config
        var classes: [Int]? = nil
        if config.classes > 0 {
            guard let classID else { throw ValidationError("this generator is class-conditional: give --class 0...\(config.classes - 1) or --class all") }
            if classID == "all" {
                classes = (0..<config.classes).flatMap { Array(repeating: $0, count: count) }
            } else {
                guard let c = Int(classID), (0..<config.classes).contains(c) else {
                    throw ValidationError("--class must be 0...\(config.classes - 1) or all, got '\(classID)'")
                }
                classes = Array(repeating: c, count: count)
            }
        } else if classID != nil {
            throw ValidationError("this generator is unconditional; leave out --class")
        }
        guard config.conditionFrames == 0 else { throw ValidationError("this generator predicts frames; use `magvit predict`") }
        let total = classes?.count ?? count
        var frames: [Tensor] = []
        var samplingSeconds = 0.0, decodeSeconds = 0.0
        let cpuStart = ProcessClock.cpuSeconds()  // the same on a busy machine, where wall-clock seconds are not
        for first in stride(from: 0, to: total, by: batch) {
            let n = min(batch, total - first)
            var options = sampling.options
            options.seed = sampling.seed &+ UInt64(first)
            let start = Date()
            let generated = try g.network.generate(count: n, classes: classes.map { Array($0[first..<first + n]) }, options: options)
            try Torch.synchronize()
            samplingSeconds += Date().timeIntervalSince(start)
            let decodeStart = Date()
            frames.append(try g.network.decode(generated, tokenizer: g.tokenizer))
            decodeSeconds += Date().timeIntervalSince(decodeStart)
            FileHandle.standardError.write(Data("\rgenerated \(first + n)/\(total)".utf8))
        }
        let cpuSeconds = ProcessClock.cpuSeconds() - cpuStart
        FileHandle.standardError.write(Data("\n".utf8))
        let all = try concatenate(frames, dim: 0)
        try write(all, classes: classes, crop: try g.crop, video: config.grid[0] > 1)
        let tokens = Double(total * config.generatedTokens)
        print(String(format: "%d samples, %@, %d network evaluations each: sampling %.2f s (%.0f tokens/s, %.1f samples/s), decoding %.2f s; "
                     + "%.2f CPU-s both (%.4f a sample)", total,
                     config.objective == .autoregressive ? "one step per token" : "\(sampling.steps) steps", g.network.networkEvaluations(sampling.options),
                     samplingSeconds, tokens / samplingSeconds, Double(total) / samplingSeconds, decodeSeconds, cpuSeconds, cpuSeconds / Double(total)))
    }

    func write(_ frames: Tensor, classes: [Int]?, crop: Int?, video: Bool) throws {
        let url = URL(fileURLWithPath: output)
        if url.pathExtension.lowercased() == "png" {
            guard !video else { throw ValidationError("-o \(output): a video model writes a folder of .mp4 files, not one .png") }
            let columns = classes != nil && classID == "all" ? count : min(frames.size(0), 10)
            try GeneratedImages.writeGrid(frames, columns: columns, crop: crop, to: url)
            print("wrote \(output)")
            return
        }
        try OutputFiles.createFolder(url.path)
        for i in 0..<frames.size(0) {
            let name = String(format: "%05d", i) + (classes.map { "-class-\($0[i])" } ?? "") + (video ? ".mp4" : ".png")
            let pictures = try GeneratedImages.pictures(frames.narrow(0, start: i, length: 1), crop: crop)  // (T, H, W, 3)
            let writer = try VideoWriter(path: url.appendingPathComponent(name).path, width: pictures.size(2), height: pictures.size(1))
            try writer.write(pictures)
            try writer.finish()
        }
        print("wrote \(frames.size(0)) files to \(output)")
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a clip from its first frames with a frame-prediction generator.",
        discussion: """
            The clip is read at the tokenizer's resolution and clip length; its first frames (the generator's conditionFrames
            latent frames) are encoded and given, the rest is generated and decoded. Prints the per-frame PSNR of the predicted
            frames against the real ones, beside the copy-last-given-frame baseline.
            Example: magvit predict clip.mp4 -o continued.mp4 --checkpoint runs/predict/generator.safetensors
            """)

    @Argument(help: "Input video.") var input: String
    @Option(name: .shortAndLong, help: "Output video (the given frames reconstructed, then the predicted ones).") var output: String
    @Option(help: "Generator checkpoint trained with conditionFrames > 0.") var checkpoint: String
    @Option(help: "Tokenizer to decode with (default: the one the generator names).") var tokenizer: String?
    @Option(help: "Write the scores as JSON here.") var json: String?
    @OptionGroup var sampling: SamplingOptionGroup
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try Destination.video(output, inputs: [input])
        let device = try runtime.apply()
        let g = try GeneratorCheckpoint(URL(fileURLWithPath: checkpoint), tokenizer: tokenizer, device: device)
        let config = g.network.config, t = g.tokenizer.config
        guard config.conditionFrames > 0 else { throw ToolError("\(checkpoint) is not a frame-prediction generator (conditionFrames is 0)") }
        guard config.classes == 0 else { throw ValidationError("class-conditional frame prediction is not supported by predict") }
        let reader = try VideoReader(path: input, options: ReadOptions(size: (t.resolution, t.resolution), maxFrames: t.clipFrames))
        guard let clip = try reader.readAll(), clip.size(0) == t.clipFrames else {
            throw ToolError("\(input): needs at least \(t.clipFrames) frames (the tokenizer's clip length)")
        }
        var x = try clip.permute([3, 0, 1, 2]).unsqueeze(0) * 2.0 - 1.0  // (1, C, T, H, W) in [-1, 1]
        if t.imageChannels == 1 { x = try x.mean([1], keepDim: true) }
        let p = try FramePrediction.evaluate(model: g.network, tokenizer: g.tokenizer, clips: x, options: sampling.options)
        let pictures = try GeneratedImages.pictures(p.prediction)  // (T, H, W, 3)
        let writer = try VideoWriter(path: output, width: pictures.size(2), height: pictures.size(1))
        try writer.write(pictures)
        try writer.finish()
        let known = p.scores.givenFrames, ours = p.framePSNR.predicted, baseline = p.framePSNR.copyLastFrame
        print("frame  PSNR predicted  PSNR copy-last-frame")
        for i in 0..<ours.count { print(String(format: "%5d  %14.2f  %20.2f", known + i, ours[i], baseline[i])) }
        let mean = p.scores.psnrPredicted, meanBaseline = p.scores.psnrCopyLastFrame
        print(String(format: "mean   %14.2f  %20.2f   (%d given frames, %d predicted)", mean, meanBaseline, known, ours.count))
        print("wrote \(output)")
        if let json {
            let result: [String: Any] = ["input": input, "given_frames": known, "psnr": ours, "copy_last_frame_psnr": baseline,
                                         "mean_psnr": mean, "mean_copy_last_frame_psnr": meanBaseline]
            try OutputFiles.write(try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys]), to: URL(fileURLWithPath: json))
        }
    }
}
