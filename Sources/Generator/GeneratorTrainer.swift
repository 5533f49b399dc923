// Trains the masked token model on the tokens of a labelled image set: the set is encoded once with
// the tokenizer (cached in the run folder), batches are a pure function of (seed, step), and the run
// keeps the tokenizer trainer's habits: JSONL log, progress line, sample grids, atomic checkpoints
// that resume exactly, and a final generator.safetensors.
import Foundation
import Metrics
import NN
import Tokenizer
import Torch
import Training

public final class GeneratorTrainer {
    public let config: GeneratorTrainingConfig
    public let directory: URL
    public let model: MaskedTransformer
    let tokenizer: VideoTokenizer
    let device: Device
    let optimizer: AdamW
    let ema: ExponentialMovingAverage?
    var schedule: WarmupCosine
    let log: TrainingLog
    let tokens: Tensor  // (N, L) int64, CPU
    let labels: Tensor  // (N) int64, CPU
    private(set) var step = 0
    var elapsed = 0.0

    var checkpointURL: URL { directory.appendingPathComponent("checkpoint.safetensors") }
    public var generatorURL: URL { directory.appendingPathComponent("generator.safetensors") }

    public init(config: GeneratorTrainingConfig, directory: URL, resume: Bool, echo: @escaping (String) -> Void = { print($0) }) throws {
        self.config = config
        self.directory = directory
        let fm = FileManager.default
        if !resume, fm.fileExists(atPath: directory.appendingPathComponent("checkpoint.safetensors").path) {
            throw ConfigError("\(directory.path) already holds a run; pass --resume to continue it or choose another folder")
        }
        if resume, !fm.fileExists(atPath: directory.appendingPathComponent("checkpoint.safetensors").path) {
            throw ConfigError("\(directory.path): no checkpoint to resume from")
        }
        try fm.createDirectory(at: directory.appendingPathComponent("samples"), withIntermediateDirectories: true)
        device = try Device(parsing: config.run.device)
        if config.run.threads > 0 { Torch.threads = config.run.threads }
        tokenizer = try VideoTokenizer.load(from: URL(fileURLWithPath: config.tokenizer), device: device)
        Torch.manualSeed(config.run.seed)
        model = try MaskedTransformer(config: config.generator, device: device)
        let o = config.optimizer
        optimizer = AdamW(model.store.parameters, learningRate: o.learningRate, betas: (o.betas[0], o.betas[1]), weightDecay: o.weightDecay)
        ema = config.run.emaDecay > 0 ? try ExponentialMovingAverage(model.store.parameters, decay: config.run.emaDecay) : nil
        schedule = WarmupCosine(peak: o.learningRate, warmupSteps: o.warmupSteps, totalSteps: config.run.steps, floor: o.learningRate * o.finalRatio)
        log = try TrainingLog(url: directory.appendingPathComponent("log.jsonl"), keepingThrough: resume ? try Self.savedStep(directory) : nil, echo: echo)
        (tokens, labels) = try Self.tokenSet(config: config, tokenizer: tokenizer, directory: directory, log: log)
        if resume { try restore() }
        try Data(try config.json().utf8).write(to: directory.appendingPathComponent("config.json"), options: .atomic)
    }

    /// The training set as token ids, encoded once and cached beside the run (keyed by the tokenizer's
    /// weights): the labelled images of an image set, or `movingDigitClips` moving-digit clips.
    static func tokenSet(config: GeneratorTrainingConfig, tokenizer: VideoTokenizer, directory: URL, log: TrainingLog) throws -> (Tensor, Tensor) {
        let cache = directory.appendingPathComponent("tokens.safetensors")
        let hash = try tokenizer.weightsHash()
        if let file = try? SafeTensors.read(cache), file.metadata["tokenizer_hash"] == hash, let t = file.tensors["tokens"], let l = file.tensors["labels"] {
            return (t, l)
        }
        let (train, _) = try TrainingData.digitSets(config.data)
        let m = tokenizer.config
        let moving = config.data.kind == .movingDigits
        let count = moving ? config.movingDigitClips : train.count
        var labels = [Int](repeating: 0, count: count)
        if !moving {
            guard let l = train.labels else { throw ConfigError("\(config.data.kind.rawValue): the training images have no labels") }
            labels = l
        }
        let digits = moving ? try MovingDigits(source: train, data: config.data) : nil
        var parts: [Tensor] = []
        let start = Date()
        let chunk = moving ? 64 : 500
        for first in stride(from: 0, to: count, by: chunk) {
            let indices = Array(first..<min(first + chunk, count))
            let clips = if let digits {
                try movingDigitClips(digits, config: config, tokenizer: m, indices: indices, stream: 1)
            } else {
                try train.clips(indices, channels: m.imageChannels, size: m.resolution, pad: config.data.pad)
            }
            parts.append(try tokenizer.encode(clips.to(tokenizer.device)).reshape([indices.count, -1]).to(.int64, .cpu))
            log.progress(step: indices.last! + 1, of: count, stepsPerSecond: Double(indices.last! + 1) / Date().timeIntervalSince(start), loss: 0)
        }
        let tokens = try concatenate(parts, dim: 0)
        let labelTensor = try Tensor(labels.map(Int64.init), shape: [labels.count])
        try SafeTensors.write(["tokens": tokens, "labels": labelTensor], metadata: ["tokenizer_hash": hash], to: cache)
        log.say(String(format: "encoded %d training %@ into %d tokens each in %.0f s", count, moving ? "clips" : "images", tokens.size(1), Date().timeIntervalSince(start)))
        return (tokens, labelTensor)
    }

    /// Moving-digit clips (B, C, T, S, S) number `indices` of a stream (1: training, 2: held out), each a pure function of its index.
    static func movingDigitClips(_ digits: MovingDigits, config: GeneratorTrainingConfig, tokenizer m: TokenizerConfig, indices: [Int], stream: UInt64) throws -> Tensor {
        try stacked(indices.map { i in
            var random = SeededRandom(seed: config.run.seed, step: i, stream: 100 + stream)
            return try digits.clip(frames: m.clipFrames, size: m.resolution, channels: m.imageChannels, random: &random)
        }, dim: 0)
    }

    /// The examples of a step: a pure function of the seed and the step.
    func batch(_ step: Int) throws -> (tokens: Tensor, classes: Tensor) {
        var random = SeededRandom(seed: config.run.seed, step: step, stream: 1)
        let n = tokens.size(0)
        let picks = (0..<config.run.batch).map { _ in Int64(Swift.min(n - 1, Int(random.uniform() * Double(n)))) }
        let index = try Tensor(picks, shape: [picks.count])
        return (try tokens.indexSelect(0, index).to(device), try labels.indexSelect(0, index).to(device))
    }

    /// Trains to run.steps and saves generator.safetensors; with `stoppingAt`, stops after that
    /// step's checkpoint instead (a run continued later with resume).
    @discardableResult
    public func train(stoppingAt stop: Int? = nil) throws -> URL? {
        let run = config.run
        log.say("training the masked token model: \(model.parameterCount) parameters, \(tokens.size(0)) sequences of \(tokens.size(1)) tokens, factors \(config.generator.factorBits), batch \(run.batch), steps \(step)..<\(run.steps) on \(device)")
        let began = Date(), firstStep = step
        var sums: [String: Double] = [:], counted = 0
        while step < run.steps {
            let started = Date()
            let (x, classes) = try batch(step)
            Torch.manualSeed(run.seed &+ 0x5DEE_CE66 &* UInt64(step + 1))
            optimizer.learningRate = schedule(step)
            try optimizer.zeroGrad()
            let result = try model.maskedLoss(tokens: x, classes: config.generator.classes > 0 ? classes : nil)
            try result.loss.backward()
            let norm = config.optimizer.clipNorm > 0 ? try clipGradientNorm(model.store.parameters, maxNorm: config.optimizer.clipNorm) : 0
            try optimizer.update()
            try ema?.update()
            elapsed += Date().timeIntervalSince(started)
            step += 1
            let loss = try result.loss.item()
            for (k, v) in ["loss": loss, "accuracy": result.accuracy, "masked": result.maskedFraction, "grad_norm": norm] {
                sums[k, default: 0] += v
            }
            counted += 1
            let rate = Double(step - firstStep) / Date().timeIntervalSince(began)
            log.progress(step: step, of: run.steps, stepsPerSecond: rate, loss: loss)
            let last = step == run.steps
            if step % run.logEvery == 0 || last {
                var record: [String: Any] = sums.mapValues { $0 / Double(counted) }
                record["step"] = step
                record["lr"] = schedule(step - 1)
                record["steps_per_second"] = rate
                try log.record(record)
                log.say(String(format: "step %d/%d  loss %.4f  masked-token accuracy %.3f  lr %.2e  %.2f steps/s  ETA %@", step, run.steps,
                               sums["loss", default: 0] / Double(counted), sums["accuracy", default: 0] / Double(counted), schedule(step - 1), rate,
                               TrainingLog.duration(Double(run.steps - step) / rate)))
                sums = [:]; counted = 0
            }
            if step % run.checkpointEvery == 0 || last {
                sums = [:]; counted = 0
                try saveCheckpoint()
            }
            if step % run.evalEvery == 0 || last { try writeSamples() }
            if let stop, step >= stop, step % run.checkpointEvery == 0 { return nil }
        }
        try withEMAWeights { try saveGenerator(to: generatorURL) }
        log.say(String(format: "saved %@ after %d steps: %.0f s in training steps", generatorURL.path, step, elapsed))
        return generatorURL
    }

    func withEMAWeights<R>(_ body: () throws -> R) throws -> R {
        guard let ema else { return try body() }
        return try ema.withAverages(in: model.store, body)
    }

    /// A grid of samples: a row per class (8 each), or 4 rows of unconditional samples; frame
    /// prediction models score held-out clips instead (`predictionScores`).
    func writeSamples() throws {
        let s = config.sampling
        if config.generator.conditionFrames > 0 {
            try log.record(try predictionScores().merging(["kind": "eval", "step": step]) { $1 })
            return
        }
        let classes = config.generator.classes > 0 ? (0..<config.generator.classes).flatMap { Array(repeating: $0, count: 8) } : nil
        let count = classes?.count ?? 32
        let ids = try withEMAWeights {
            try model.sample(count: count, classes: classes, options: SamplingOptions(steps: s.steps, guidance: s.guidance, temperature: s.temperature, seed: config.run.seed))
        }
        let url = directory.appendingPathComponent(String(format: "samples/step-%07d.png", step))
        try GeneratedImages.writeGrid(GeneratedImages.decode(ids, grid: config.generator.grid, tokenizer: tokenizer), columns: 8, to: url)
    }

    /// Frame prediction on `predictionClips` held-out moving-digit clips: the first conditionFrames
    /// latent frames given, the rest sampled; mean PSNR of the predicted frames against the real
    /// ones, against the tokenizer's own reconstruction (the ceiling) and against repeating the last
    /// given frame (the baseline). Writes a grid: real, reconstructed and predicted rows of 3 clips.
    func predictionScores() throws -> [String: Any] {
        let m = tokenizer.config, g = config.generator
        let (glyphs, test) = try TrainingData.digitSets(config.data)
        let digits = try MovingDigits(source: test ?? glyphs, data: config.data)
        let clips = try Self.movingDigitClips(digits, config: config, tokenizer: m, indices: Array(0..<config.predictionClips), stream: 2)
        let ids = try tokenizer.encode(clips.to(device)).reshape([clips.size(0), -1])
        let given = try ids.narrow(1, start: 0, length: g.givenTokens)
        let s = config.sampling
        let predicted = try withEMAWeights {
            try model.sample(count: clips.size(0), given: given, options: SamplingOptions(steps: s.steps, temperature: s.temperature, seed: config.run.seed))
        }
        let real = try (clips + 1.0) / 2.0
        let reconstruction = try (GeneratedImages.decode(ids, grid: g.grid, tokenizer: tokenizer) + 1.0) / 2.0
        let prediction = try (GeneratedImages.decode(predicted, grid: g.grid, tokenizer: tokenizer) + 1.0) / 2.0
        let known = 1 + (g.conditionFrames - 1) * m.temporalFactor, future = m.clipFrames - known
        func psnr(_ a: Tensor) throws -> Double {  // mean over clips and future frames of per-frame PSNR
            let x = try a.narrow(2, start: known, length: future), y = try real.narrow(2, start: known, length: future)
            let mse = try (x - y).square().mean([1, 3, 4]).clamp(min: 1e-10)  // (B, future)
            return try (mse.log() * (-10 / Foundation.log(10.0))).mean().item()
        }
        // Copying the last given frame into every later one.
        let copy = try concatenate([real.narrow(2, start: 0, length: known),
                                    real.narrow(2, start: known - 1, length: 1).expand([-1, -1, future, -1, -1])], dim: 2)
        var scores: [String: Any] = ["psnr_predicted": try psnr(prediction), "psnr_reconstruction": try psnr(reconstruction),
                                     "psnr_copy_last_frame": try psnr(copy), "clips": clips.size(0), "given_frames": known]
        log.say(String(format: "frame prediction on %d held-out clips (%d given frames, %d predicted): PSNR %.2f dB predicted, %.2f copying the last given frame, %.2f tokenizer reconstruction",
                       clips.size(0), known, future, scores["psnr_predicted"] as! Double, scores["psnr_copy_last_frame"] as! Double, scores["psnr_reconstruction"] as! Double))
        if config.predictionFVD {
            let i3d = try I3D(weights: I3D.defaultWeights(), device: device)
            func statistics(_ x: Tensor) throws -> FeatureStatistics {
                var s = try FeatureStatistics(dimension: I3D.classCount)
                for start in stride(from: 0, to: x.size(0), by: 8) { try s.add(i3d.features(x.narrow(0, start: start, length: min(8, x.size(0) - start)))) }
                return s
            }
            let reference = try statistics(real)
            for (name, set) in [("predicted", prediction), ("copy_last_frame", copy), ("reconstruction", reconstruction)] {
                scores["fvd_" + name] = try FrechetDistance.distance(reference, statistics(set))
            }
            log.say(String(format: "FVD against the real clips (%d-frame clips, I3D logits): %.1f predicted, %.1f copying the last given frame, %.1f tokenizer reconstruction",
                           m.clipFrames, scores["fvd_predicted"] as! Double, scores["fvd_copy_last_frame"] as! Double, scores["fvd_reconstruction"] as! Double))
        }
        let rows = try (0..<3).flatMap { i in try [real, reconstruction, prediction].map { try $0.narrow(0, start: i, length: 1) } }
        let grid = try concatenate(rows, dim: 0) * 2.0 - 1.0  // (9, C, T, H, W): each row a clip's frames
        let frames = try grid.permute([0, 2, 1, 3, 4]).reshape([9 * m.clipFrames, m.imageChannels, 1, m.resolution, m.resolution])
        try GeneratedImages.writeGrid(frames, columns: m.clipFrames, to: directory.appendingPathComponent(String(format: "samples/step-%07d.png", step)))
        return scores
    }

    /// The generator's weights with its config and tokenizer in the metadata.
    public func saveGenerator(to url: URL) throws {
        let metadata = ["magvit.format": "generator-v1", "generator_config": try GeneratedImages.json(config.generator),
                        "tokenizer": URL(fileURLWithPath: config.tokenizer).standardizedFileURL.path, "tokenizer_hash": try tokenizer.weightsHash(),
                        "data": config.data.kind.rawValue, "pad": "\(config.data.pad)", "training_steps": "\(step)",
                        "training_seconds": String(format: "%.0f", elapsed)]
        try SafeTensors.write(try model.store.snapshot(), metadata: metadata, to: url)
    }

    // MARK: checkpoints

    static func savedStep(_ directory: URL) throws -> Int? {
        let url = directory.appendingPathComponent("checkpoint.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try SafeTensors.read(url).metadata["step"].flatMap(Int.init)
    }

    func saveCheckpoint() throws {
        var tensors: [String: Tensor] = [:]
        for (k, v) in try model.store.snapshot() { tensors["model." + k] = v }
        for (k, v) in try optimizer.state() { tensors["optimizer." + k] = v }
        if let ema { for (k, v) in ema.shadow { tensors["ema." + k] = v } }
        let metadata = ["magvit.format": "generator-training-state-v1", "step": "\(step)", "seed": "\(config.run.seed)",
                        "elapsed_seconds": "\(elapsed)", "generator_config": try GeneratedImages.json(config.generator)]
        try SafeTensors.write(tensors, metadata: metadata, to: checkpointURL)
    }

    func restore() throws {
        let state = try SafeTensors.read(checkpointURL)
        let m = state.metadata
        guard m["magvit.format"] == "generator-training-state-v1", let s = m["step"].flatMap(Int.init), let seed = m["seed"].flatMap(UInt64.init) else {
            throw ConfigError("\(checkpointURL.path) is not a Magvit generator training checkpoint")
        }
        guard m["generator_config"] == (try GeneratedImages.json(config.generator)), seed == config.run.seed else {
            throw ConfigError("\(checkpointURL.path) was trained with another generator config or seed; resume with the config it was started with")
        }
        try model.store.load(state.tensors(prefixed: "model."))
        try optimizer.load(state: state.tensors(prefixed: "optimizer."))
        if let ema { try ema.load(state.tensors(prefixed: "ema.")) }
        elapsed = m["elapsed_seconds"].flatMap(Double.init) ?? 0
        step = s
    }
}
