// Trains the masked token model on the tokens of a data source: the set is encoded once with the
// tokenizer (cached in the run folder), batches are a pure function of (seed, step), and the run
// itself (log, samples, checkpoints, exact resume, time budget) is the Harness's; the result is
// generator.safetensors.
import Dataset
import Foundation
import GeneratorModel
import Harness
import Metrics
import NN
import Tokenizer
import Torch

public final class GeneratorTrainer: OptimizedRecipe {
    public static let abstract = "a generator of a tokenizer's tokens or latents (generator.objective masked, autoregressive or diffusion)"
    public let config: GeneratorTrainingConfig
    public let setup: RunSetup
    /// The generator of `generator.objective` (masked, autoregressive or diffusion).
    public let model: any GenerativeNetwork
    let tokenizer: RunTokenizer
    /// The pixel source: the training set of image and digit kinds, the held-out videos of token
    /// datasets (nil when there are none).
    let data: (any ClipSource)?
    public let training: OptimizedModel
    /// Where the weights started (`WarmStart.record`), saved with the final model; nil from scratch.
    let warmStart: String?
    var optimizer: AdamW { training.optimizer }
    /// (N, L) int64 token ids and (N) class ids of the training set, on the CPU (set by `prepare`).
    var tokens: Tensor?
    var labels: Tensor?
    /// The frame-prediction grid of the last evaluation, for `samples`.
    var predictionGrid: Tensor?
    /// The held-out clips' references (`heldOutReferences`), computed at the first evaluation.
    var heldOutVideos: HeldOutVideos?
    /// The held-out clips frame prediction or unconditional video is scored on (nil: not scored), read at setup.
    let heldOutClips: Tensor?

    public var directory: URL { folder.url }
    public var generatorURL: URL { folder.url.appendingPathComponent("generator.safetensors") }

    public init(config: GeneratorTrainingConfig, setup: RunSetup) throws {
        (self.config, self.setup) = (config, setup)
        tokenizer = try RunTokenizer(config.tokenizer, setup: setup)
        let device = setup.device
        let classes: Int
        if config.data.kind == .tokenTiles {
            (data, classes) = (nil, 0)
        } else if TokenSources.holds(config.data.kind) {
            data = try TokenData.heldOut(config.data, shape: tokenizer.model.config.clipShape, seed: config.run.seed)
            classes = try TokenSources.classNames(config.data).count
        } else {
            let source = try DataSources.make(config.data, shape: tokenizer.model.config.clipShape, seed: config.run.seed)
            (data, classes) = (source, source.classes)
        }
        if config.generator.classes > 0, classes != config.generator.classes {
            let fix = classes == 0 ? "set generator.classes: 0 for an unconditional model, or label the data (data.labels: folders or a CSV file)"
                                   : "set generator.classes: \(classes), or leave it out to take the data's"
            throw ConfigError("generator.classes is \(config.generator.classes) but \(config.data.kind) has \(classes) classes: \(fix)")
        }
        // Video is scored on held-out clips at every evaluation: they are read now, so a set too small
        // to score stops the run before its first step rather than after training.
        if config.scoresClips, let data {
            heldOutClips = try Self.predictionClips(data, config: config)
        } else {
            heldOutClips = nil
        }
        if config.scoresClips, config.predictionFVD {
            let weights = I3D.defaultWeights()
            guard FileManager.default.fileExists(atPath: weights.path) else {
                throw ConfigError("predictionFVD needs the I3D weights at \(weights.path) (scripts/setup.sh converts them): set predictionFVD: false, or run setup")
            }
            guard tokenizer.model.config.clipFrames >= I3D.minimumFrames else {
                throw ConfigError("predictionFVD scores clips with I3D, which needs at least \(I3D.minimumFrames) frames; the tokenizer's clips have \(tokenizer.model.config.clipFrames): set predictionFVD: false")
            }
        }
        model = try setup.seeded { try GenerativeNetworks.make(config.generator, device: device) }
        if !config.initialWeights.isEmpty {
            let url = URL(fileURLWithPath: config.initialWeights)
            let (start, metadata) = try GeneratorCheckpoint.network(url, device: device)
            guard start.config.hasNetwork(of: config.generator) else {
                throw ConfigError("initialWeights \(config.initialWeights) is a generator of another shape than generator: (\(start.config) vs \(config.generator))")
            }
            try model.store.load(start.store.snapshot())
            warmStart = try WarmStart.record(of: url, metadata: metadata, weightsHash: model.store.weightsHash())
        } else {
            warmStart = nil
        }
        training = try OptimizedModel(model.store, optimizer: config.optimizer, emaDecay: config.run.emaDecay)
    }

    // MARK: Trainer

    public var summary: String {
        "training the \(config.generator.objective.rawValue) generator: \(model.parameterCount) parameters, \(tokens?.size(0) ?? 0) sequences of \(config.generator.tokensPerExample) tokens\(config.generator.objective == .diffusion ? "" : ", factors \(config.generator.factorBits)")"
    }

    public var headline: [String] { ["accuracy"] }

    public var identity: [String: String] {
        get throws { ["generator_config": try ConfigFile.json(config.generator), "tokenizer_hash": tokenizer.hash] }
    }

    /// Encodes the training set once (cached beside the run, keyed by the tokenizer's weights).
    public func prepare(_ folder: RunFolder, log: RunLog) throws {
        if config.data.kind == .tokenTiles {
            tokens = try TokenTiles.load(config.data, grid: config.generator.grid, tokenizerWeights: tokenizer.hash)
            labels = try Tensor.zeros([tokens!.size(0)], dtype: .int64)
            log.say("cut \(tokens!.size(0)) tiles of \(config.generator.grid) tokens from \(config.data.train.count) token files")
            return
        }
        if TokenSources.holds(config.data.kind) {
            let dataset = try TokenData.prepare(config.data, grid: config.generator.grid,
                                                run: TokenizingRun(tokenizer: tokenizer, folder: folder.url, device: device, log: log))
            let all = try dataset.allTokens()
            (tokens, labels) = (all.ids, try all.labels.clamp(min: 0, max: Double(Int32.max)))
            return
        }
        guard let data else { throw ConfigError("\(config.data.kind) has no training set") }
        // Token ids, or the continuous latents of the diffusion objective (`model.trainingExamples`),
        // in the run folder or in `data.tokenCache`, which runs on the same tokenizer and data share.
        let content = config.generator.objective == .diffusion ? "latents" : "tokens"
        let cache = config.data.tokenCache.isEmpty ? folder.url.appendingPathComponent(content + ".safetensors") : URL(fileURLWithPath: config.data.tokenCache)
        let identity = ["tokenizer_hash": tokenizer.hash, "content": content, "data": "\(config.data.kind) \(config.data.train) \(data.count ?? config.movingDigitClips)"]
        if let file = try? SafeTensors.read(cache), identity.allSatisfy({ file.metadata[$0.key] == $0.value }),
           let t = file.tensors["tokens"], let l = file.tensors["labels"], t.size(0) == l.size(0) {
            log.say("read the training set's \(content) from \(cache.path)")
            (tokens, labels) = (t, l)
            try model.fit(trainingSet: t)
            return
        }
        let count = data.count ?? config.movingDigitClips
        var parts: [Tensor] = [], labelParts: [Tensor] = []
        let start = Date()
        let chunk = tokenizer.model.config.clipFrames > 1 ? 64 : 500
        for first in stride(from: 0, to: count, by: chunk) {
            let indices = Array(first..<Swift.min(first + chunk, count))
            let examples = try data.examples(indices)
            parts.append(try model.trainingExamples(examples.clips.to(device), tokenizer: tokenizer.model).to(.cpu))
            labelParts.append(try examples.labels ?? Tensor.zeros([indices.count], dtype: .int64))
            log.progress(step: indices.last! + 1, of: count, stepsPerSecond: Double(indices.last! + 1) / Date().timeIntervalSince(start), loss: nil)
        }
        let (t, l) = (try concatenate(parts, dim: 0), try concatenate(labelParts, dim: 0))
        try SafeTensors.write(["tokens": t, "labels": l], metadata: identity, to: cache)
        log.say(String(format: "encoded %d training examples into %d tokens each in %.0f s", count, t.size(1), Date().timeIntervalSince(start)))
        (tokens, labels) = (t, l)
        try model.fit(trainingSet: t)
    }

    /// The examples of a step: a pure function of the seed and the step.
    public func batchMaker() throws -> @Sendable (Int) throws -> (tokens: Tensor, classes: Tensor) {
        guard let tokens, let labels else { throw ConfigError("the generator's token set was not prepared") }
        let draw = randomBatches(of: tokens, labels: labels, batch: config.run.batch, seed: config.run.seed, device: device, parallel: parallel)
        return { try draw($0) }
    }

    /// One update over the step's micro-batches (`run.accumulate`); the numbers averaged over them.
    public func step(_ batch: (tokens: Tensor, classes: Tensor), context: StepContext) throws -> [String: Double] {
        let (tokens, classes) = (try context.microBatches(batch.tokens), try context.microBatches(batch.classes))
        return try training.step(parts: tokens.count, context: context, clipNorm: config.optimizer.clipNorm) { i in
            let result = try context.autocast {
                try model.trainingLoss(tokens[i], classes: config.generator.classes > 0 ? classes[i] : nil, codingMasks: config.codingMasks, parallel: parallel)
            }
            return (result.loss, result.values.merging(["loss": try result.loss.item()], uniquingKeysWith: { a, _ in a }))
        }
    }

    /// Frame-prediction models score held-out clips (`predictionScores`), unconditional video
    /// generators with `predictionFVD` their samples against them (`generatedVideoScores`); others
    /// have no held-out score.
    public func evaluate(step: Int, final: Bool, log: RunLog) throws -> [String: Any] {
        if config.generator.conditionFrames > 0 { return try predictionScores(log: log) }
        return config.scoresClips ? try generatedVideoScores(log: log) : [:]
    }

    /// A grid of samples: a row per class (8 each), or 4 rows of unconditional samples; for frame
    /// prediction, the real, reconstructed and predicted clips of the last evaluation.
    public func samples(step: Int) throws -> [String: Tensor] {
        if config.generator.conditionFrames > 0 { return predictionGrid.map { ["prediction": $0] } ?? [:] }
        let s = config.sampling
        let classes = config.generator.classes > 0 ? (0..<config.generator.classes).flatMap { Array(repeating: $0, count: 8) } : nil
        let generated = try model.generate(count: classes?.count ?? 32, classes: classes,
                                           options: SamplingOptions(steps: s.steps, guidance: s.guidance, temperature: s.temperature, seed: config.run.seed))
        return ["samples": try GeneratedImages.grid(model.decode(generated, tokenizer: tokenizer.model), columns: 8)]
    }

    public func finish(_ folder: RunFolder, metadata: [String: String], dtype: DType) throws -> URL {
        try saveGenerator(to: generatorURL, metadata: metadata, dtype: dtype)
        return generatorURL
    }

    /// The held-out clips with what they score without a generator (and the FVD network with
    /// `predictionFVD`), computed at the first evaluation and kept for the rest of the run.
    func heldOutReferences() throws -> HeldOutVideos? {
        if let heldOutVideos { return heldOutVideos }
        guard let clips = heldOutClips else { return nil }
        let i3d = config.predictionFVD ? try I3D(weights: I3D.defaultWeights(), device: device) : nil
        let prepared = try HeldOutVideos(clips: clips, tokenizer: tokenizer.model, generator: model.config, i3d: i3d)
        heldOutVideos = prepared
        return prepared
    }

    /// Frame prediction on `predictionClips` held-out clips (FramePrediction): the first
    /// conditionFrames latent frames given, the rest sampled; PSNR of the predicted frames against the
    /// real ones, the tokenizer's reconstruction (the ceiling) and repeating the last given frame (the
    /// baseline), and FVD with `predictionFVD`. Keeps the grid of real, reconstructed and predicted clips.
    func predictionScores(log: RunLog) throws -> [String: Any] {
        let m = tokenizer.model.config
        guard let heldOut = try heldOutReferences() else {
            log.say("frame prediction is not scored: data.eval names no held-out videos")
            return [:]
        }
        let s = config.sampling
        let p = try FramePrediction.evaluate(model: model, tokenizer: tokenizer.model, heldOut: heldOut,
                                             options: SamplingOptions(steps: s.steps, temperature: s.temperature, seed: config.run.seed))
        let r = p.scores
        log.say(String(format: "frame prediction on %d held-out clips (%d given frames, %d predicted): PSNR %.2f dB predicted, %.2f copying the last given frame, %.2f tokenizer reconstruction",
                       r.clips, r.givenFrames, m.clipFrames - r.givenFrames, r.psnrPredicted, r.psnrCopyLastFrame, r.psnrReconstruction))
        if let fp = r.fvdPredicted, let fc = r.fvdCopyLastFrame, let fr = r.fvdReconstruction {
            log.say(String(format: "FVD against the real clips (%d-frame clips, I3D logits): %.1f predicted, %.1f copying the last given frame, %.1f tokenizer reconstruction",
                           m.clipFrames, fp, fc, fr))
        }
        predictionGrid = try p.grid(clips: 3)
        return try r.record()
    }

    /// The first `predictionClips` held-out clips of `data`, at least 3, or an error that says how to get them.
    static func predictionClips(_ data: any ClipSource, config: GeneratorTrainingConfig) throws -> Tensor {
        let clips = try data.heldOut(limit: config.predictionClips)?.clips
        let count = clips?.size(0) ?? 0
        guard let clips, count >= 3 else {
            let fix = TokenSources.holds(config.data.kind)
                ? "the videos of data.eval (\(config.data.eval.joined(separator: ", "))) give \(count) clips of the tokenizer's length: name longer or more videos in data.eval, or leave data.eval out to train without scoring"
                : "data.kind \(config.data.kind) gives \(count): raise data.evalSamples"
            throw ConfigError("video generators are scored on at least 3 held-out clips, but \(fix)")
        }
        return clips
    }

    /// The generator's weights with its config and tokenizer in the metadata.
    public func saveGenerator(to url: URL, metadata extra: [String: String] = [:], dtype: DType = .float32) throws {
        var metadata = tokenizer.metadata.merging(["data": config.data.kind.rawValue, "pad": "\(config.data.pad)"]) { _, own in own }
        if let crop = data?.paddedFrom { metadata["crop"] = "\(crop)" }
        if let warmStart { metadata["warm_start"] = warmStart }
        metadata.merge(extra) { a, _ in a }
        try GeneratorCheckpoint.save(model, metadata: metadata, dtype: dtype, to: url)
    }
}
