// `magvit train`: trains a tokenizer on videos with the reconstruction loss (MSE, the paper's L2) and
// LFQ's entropy and commitment losses; AdamW, warmup + cosine, gradient clipping, bf16 autocast on
// CUDA, random crops/scales/flips and temporal strides, periodic checkpoints and resume, and an
// evaluation (PSNR, SSIM, codebook usage) on held-out videos at the end. Perceptual and GAN losses,
// config files and exact resume belong to the training issue and are not here yet.
import ArgumentParser
import Codec
import Foundation
import Media
import NN
import Tokenizer
import Torch

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a tokenizer on videos (reconstruction + LFQ losses).",
        discussion: "Example: magvit train --preset video-small --data bikes.mp4 --eval carphone.mp4 --steps 2000 -o model.safetensors")

    @Option(help: "Tokenizer preset to train.") var preset = "video-small"
    @Option(parsing: .upToNextOption, help: "Training videos or frames files.") var data: [String]
    @Option(parsing: .upToNextOption, help: "Held-out videos or frames files for the final evaluation.") var eval: [String] = []
    @Option(name: .shortAndLong, help: "Output checkpoint.") var output: String
    @Option(help: "Optimizer steps.") var steps = 1000
    @Option(help: "Clips per step.") var batch = 8
    @Option(help: "Peak learning rate.") var lr = 1e-3
    @Option(help: "Warmup steps.") var warmup = 100
    @Option(help: "Steps between checkpoints (and resume states).") var checkpointEvery = 500
    @Option(help: "Steps between log lines.") var logEvery = 50
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Flag(help: "Continue from <output>.state.safetensors.") var resume = false
    @Option(help: "Fit the number of steps to this many seconds of training, timed over steps 30 to 80 (after warm-up).") var timeBudget: Double?
    @Option(help: "Store the final weights as float16 or float32.") var saveDtype = "float32"
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        let device = try runtime.apply()
        guard var config = TokenizerConfig.presets[preset] else {
            throw ValidationError("unknown preset '\(preset)'; presets: \(TokenizerConfig.presets.keys.sorted().joined(separator: ", "))")
        }
        config.quantizer.annealSteps = Swift.min(config.quantizer.annealSteps, Swift.max(steps / 4, 1))
        guard steps > 0, batch > 0, lr > 0 else { throw ValidationError("--steps, --batch and --lr must be positive") }
        Torch.manualSeed(seed)
        let videos = try data.map { (path) throws -> Tensor in try loadFrames(path).to(device) }
        let size = config.resolution, length = config.clipFrames
        for (path, v) in zip(data, videos) where v.size(0) < length || v.size(1) < size || v.size(2) < size {
            throw ValidationError("\(path): \(v.shape) is smaller than one \(length)x\(size)x\(size) clip")
        }
        let model = try VideoTokenizer(config: config, device: device)
        let optimizer = AdamW(model.store.parameters, learningRate: lr, betas: (0.9, 0.99), weightDecay: 1e-4)
        var steps = self.steps
        var schedule = WarmupCosine(peak: lr, warmupSteps: warmup, totalSteps: steps, floor: lr / 20)
        guard let saveDType = DType.allCases.first(where: { "\($0)" == saveDtype }), saveDType.isFloatingPoint else {
            throw ValidationError("--save-dtype must be float32, float16 or bfloat16, got '\(saveDtype)'")
        }
        let output = URL(fileURLWithPath: self.output)
        let stateURL = URL(fileURLWithPath: self.output + ".state.safetensors")
        var start = 0
        if resume {
            let state = try SafeTensors.read(stateURL)
            try model.store.load(state.tensors.filter { !$0.key.hasPrefix("optimizer.") })
            try optimizer.load(state: Dictionary(uniqueKeysWithValues: state.tensors.filter { $0.key.hasPrefix("optimizer.") }
                .map { (String($0.key.dropFirst("optimizer.".count)), $0.value) }))
            start = optimizer.step
            print("resumed at step \(start)")
        }
        log("training \(config.name): \(model.parameterCount) parameters, \(videos.count) videos, batch \(batch), \(steps) steps on \(device)")
        let began = Date()
        var window: [Double] = []
        var step = start
        var timed = began
        while step < steps {
            defer { step += 1 }
            if timeBudget != nil, step == start + 30 { timed = Date() }
            if let budget = timeBudget, step == start + 80 {
                let perStep = Date().timeIntervalSince(timed) / 50
                steps = Swift.min(steps, step + Swift.max(1, Int((budget - Date().timeIntervalSince(began)) / perStep)))
                schedule.totalSteps = steps
                log(String(format: "time budget %.0f s at %.3f s/step: %d steps", budget, perStep, steps))
            }
            let clips = try stacked((0..<batch).map { _ in try randomClip(videos, frames: length, size: size) })  // (B, 3, T, H, W)
            optimizer.learningRate = schedule(step)
            try optimizer.zeroGrad()
            let (reconstruction, q) = try maybeAutocast(device) { try model.reconstruct(clips, step: step) }
            let mse = try mseLoss(reconstruction.to(.float32), clips)
            try (mse + q.loss).backward()
            try clipGradientNorm(model.store.parameters, maxNorm: 1)
            try optimizer.update()
            window.append(try mse.item())
            if (step + 1) % logEvery == 0 || step + 1 == steps {
                let average = window.reduce(0, +) / Double(window.count)
                window.removeAll()
                let usage = try q.usage()
                let elapsed = Date().timeIntervalSince(began)
                let rate = Double(step + 1 - start) / elapsed
                log(String(format: "step %d/%d  mse %.5f  psnr %.2f dB  entropy %.3f/%.3f  codes %d  lr %.2e  %.2f steps/s  ETA %.0fs",
                             step + 1, steps, average, 10 * Foundation.log10(4 / average), try q.perSampleEntropy?.item() ?? 0,
                             try q.codebookEntropy?.item() ?? 0, usage.used, schedule(step), rate, Double(steps - step - 1) / rate))
            }
            if (step + 1) % checkpointEvery == 0 || step + 1 == steps {
                var state = try model.store.snapshot()
                for (key, value) in try optimizer.state() { state["optimizer." + key] = value }
                try SafeTensors.write(state, to: stateURL)
            }
        }
        let seconds = Date().timeIntervalSince(began)
        var metadata = ["training_data": data.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", "),
                        "training_seconds": String(format: "%.0f", seconds), "training_device": "\(device)"]
        if !eval.isEmpty {
            let summary = try evaluate(model, eval, device: device).heldOutSummary()
            print(summary)
            metadata["eval"] = summary
        }
        metadata["training"] = "magvit train --preset \(preset) --steps \(steps) --batch \(batch) --lr \(lr) --seed \(seed)"
        try model.to(.cpu).save(to: output, metadata: metadata, dtype: saveDType)
        print(String(format: "saved %@ after %.0f s", output.path, seconds))
    }

    /// A random clip (3, T, size, size) in [-1, 1]: a random video, start, temporal stride 1 or 2,
    /// a square crop of 1 to 2 times the size (resized down), and a random horizontal flip.
    func randomClip(_ videos: [Tensor], frames: Int, size: Int) throws -> Tensor {
        let video = videos[Int.random(in: 0..<videos.count)]
        let (t, h, w) = (video.size(0), video.size(1), video.size(2))
        let stride = t >= 2 * frames - 1 && Bool.random() ? 2 : 1
        let span = (frames - 1) * stride + 1
        let first = Int.random(in: 0...(t - span))
        let crop = Int.random(in: size...Swift.min(2 * size, h, w))
        let (y, x) = (Int.random(in: 0...(h - crop)), Int.random(in: 0...(w - crop)))
        let index = try Tensor.arange(Double(first), Double(first + span), step: Double(stride), device: video.device)
        var clip = try video.indexSelect(0, index).narrow(1, start: y, length: crop).narrow(2, start: x, length: crop)
        clip = try clip.permute([0, 3, 1, 2]).to(.float32) / 127.5 - 1  // (T, 3, crop, crop)
        if crop != size { clip = try interpolate(clip, size: [size, size], mode: .linear) }
        if Bool.random() { clip = try clip.flip([3]) }
        return try clip.transpose(0, 1)  // (3, T, size, size)
    }
}

extension ReconstructionReport {
    /// One line for logs and the checkpoint's metadata.
    func heldOutSummary() throws -> String {
        guard let usage = try usage() else { return "held-out: no tokens" }
        return String(format: "held-out: %d frames, PSNR %.2f dB, SSIM %.4f, codebook usage %d codes (%.2f%% of 2^%d), perplexity %.1f",
                      frames, meanPSNR, meanSSIM, usage.used, usage.fraction * 100, Int(Foundation.log2(Double(usage.codebookSize))),
                      usage.perplexity)
    }
}

/// PSNR/SSIM over consecutive clips of the held-out videos (center crop at a multiple of the
/// spatial factor), and codebook usage over all their tokens.
func evaluate(_ model: VideoTokenizer, _ paths: [String], device: Device) throws -> ReconstructionReport {
    let c = model.config
    var report = ReconstructionReport()
    for path in paths {
        let frames = try loadFrames(path)
        let (h, w) = (frames.size(1), frames.size(2))
        let side = Swift.min(h, w) / c.spatialFactor * c.spatialFactor
        let square = try frames.narrow(1, start: (h - side) / 2, length: side).narrow(2, start: (w - side) / 2, length: side)
        var start = 0
        while start + c.clipFrames <= frames.size(0) {
            let clip = try square.narrow(0, start: start, length: c.clipFrames).to(.float32) / 255
            let tokens = try model.encode(modelInput(clip).to(device))
            try report.record(tokens: tokens, codebookSize: c.quantizer.codebookSize)
            try report.record(original: clip, decoded: framesFromModel(model.decode(tokens).to(.float32)))
            start += c.clipFrames
        }
    }
    guard report.frames > 0 else { throw ValidationError("held-out videos are shorter than one clip") }
    return report
}

/// bf16 autocast on CUDA; full precision on the CPU.
func maybeAutocast<R>(_ device: Device, _ body: () throws -> R) throws -> R {
    if case .cuda = device { return try withAutocast(device: device, dtype: .bfloat16, body) }
    return try body()
}

/// Writes a line to standard output at once (print is buffered when piped, and logs should stream).
func log(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
