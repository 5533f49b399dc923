// Training the tokenizer (MAGVIT-v2 §3.2, REFERENCE.md §3): reconstruction (L1 or L2), LPIPS
// perceptual loss, LFQ entropy and commitment losses, and a non-saturating GAN loss against a
// LeCAM-regularised discriminator; AdamW with warmup + cosine and clipping. The run itself (log,
// evaluations with EMA weights, checkpoints, resume) is the Harness's.
import Dataset
import Foundation
import Harness
import Metrics
import NN
import Tokenizer
import Torch

/// A distance between clips used as the perceptual loss: (B·T, C, H, W) pairs in [-1, 1] → (B·T).
public typealias PerceptualDistance = (Tensor, Tensor) throws -> Tensor

public final class TokenizerTrainer: Recipe {
    public static let abstract = "a video tokenizer: reconstruction, perceptual, GAN and quantizer losses"
    public let config: TokenizerTrainingConfig
    public let setup: RunSetup
    public let model: VideoTokenizer
    public let data: any ClipSource
    /// The still images trained beside the clips (`data.imageBatch`), as 1-frame clips.
    public let images: (any ClipSource)?
    let training: OptimizedModel
    var optimizer: AdamW { training.optimizer }
    let discriminator: Discriminator?
    /// The discriminator's weights and optimizer (no average), when the GAN is on.
    let discriminatorTraining: OptimizedModel?
    let perceptual: PerceptualDistance?
    var lecam: LeCAM
    /// The discriminator's rate over the tokenizer's; both follow one schedule.
    let discriminatorRateRatio: Double
    /// The last final evaluation, returned by `train`.
    var finalScores: HeldOutScores?
    /// Where the weights started (`WarmStart.record`), saved with the final model; nil from scratch.
    let warmStart: String?
    /// The held-out clips, loaded at the first evaluation.
    var heldOutSet: Clips??

    public var directory: URL { folder.url }
    public var checkpointURL: URL { folder.checkpoint }
    public var tokenizerURL: URL { folder.url.appendingPathComponent("tokenizer.safetensors") }

    /// The recipe's run: the perceptual network the config names (`perceptualDistance`).
    public convenience init(config: TokenizerTrainingConfig, setup: RunSetup) throws {
        try self.init(config: config, setup: setup, perceptual: Self.perceptualDistance(config))
    }

    /// A run in `directory` with the perceptual network `perceptual` (tests and benchmarks give a
    /// small one, or none).
    public convenience init(config: TokenizerTrainingConfig, directory: URL, resume: Bool, perceptual: PerceptualDistance?,
                            parallel: DataParallel? = nil, echo: @escaping (String) -> Void = { print($0) }) throws {
        try self.init(config: config, setup: RunSetup(directory: directory, run: config.run, resume: resume, parallel: parallel, echo: echo),
                      perceptual: perceptual)
    }

    /// Sets up a run on `setup`; nothing is created on disk until `train` starts.
    public init(config: TokenizerTrainingConfig, setup: RunSetup, perceptual: PerceptualDistance?) throws {
        (self.config, self.setup) = (config, setup)
        let run = config.run
        let device = setup.device
        // The inputs, reconstructions and their gradients of one micro-batch, in float32: a lower bound.
        let m = config.model, clip = Double(m.imageChannels * m.clipFrames * m.resolution * m.resolution)
        try MemoryBudget.require(Double(run.batch / run.accumulate) * clip * 4 * 3, for: "run.batch \(run.batch) of \(m.imageChannels)x\(m.clipFrames)x\(m.resolution)x\(m.resolution) clips",
                                 on: run.device.device, fix: "Lower run.batch, or raise run.accumulate to split it into micro-batches.")
        if config.loss.perceptualWeight > 0 && perceptual == nil {
            throw ConfigError("loss.perceptualWeight is \(config.loss.perceptualWeight) but no perceptual network was given")
        }
        self.perceptual = config.loss.perceptualWeight > 0 ? perceptual : nil

        if let parallel = setup.parallel, config.data.imageBatch % parallel.worldSize != 0 {
            throw ConfigError("data.imageBatch \(config.data.imageBatch) must split evenly over \(parallel.worldSize) processes")
        }
        (data, images) = try Self.sources(config)
        model = try setup.seeded { try VideoTokenizer(config: config.model, device: device, dtype: run.dtype.dtype) }
        if !config.initialWeights.isEmpty {
            let start = URL(fileURLWithPath: config.initialWeights)
            let metadata = try model.startFrom(start)
            warmStart = try WarmStart.record(of: start, metadata: metadata, weightsHash: model.weightsHash())
        } else {
            if config.initialization == .inflated { try model.inflateTemporalKernels() }
            warmStart = nil
        }
        if let parallel = setup.parallel, let lfq = model.quantizer as? LookupFreeQuantizer { lfq.globalMean = { try parallel.globalMean($0) } }
        let o = config.optimizer
        training = try OptimizedModel(model.store, optimizer: o, emaDecay: run.emaDecay)
        if config.loss.adversarialWeight > 0 {
            let d = try Discriminator(imageChannels: config.model.imageChannels, resolution: config.model.resolution,
                                      frames: config.model.clipFrames, channels: config.loss.discriminatorChannels, device: device)
            try d.store.move(to: device, dtype: run.dtype.dtype)
            discriminator = d
            var own = o
            own.learningRate = o.discriminatorLearningRate > 0 ? o.discriminatorLearningRate : o.learningRate
            discriminatorTraining = try OptimizedModel(d.store, optimizer: own, emaDecay: 0)
        } else {
            discriminator = nil
            discriminatorTraining = nil
        }
        discriminatorRateRatio = o.discriminatorLearningRate > 0 ? o.discriminatorLearningRate / o.learningRate : 1
        lecam = LeCAM(decay: config.loss.lecamDecay)
    }

    /// Trains to `run.steps` (or the time budget) through the Harness; returns the final held-out
    /// scores (EMA weights) when there is a held-out set.
    @discardableResult
    public func train() throws -> HeldOutScores? {
        try harness().train()
        return finalScores
    }

    /// Shift-tolerant LPIPS (`loss.perceptualNetwork`, the converted stlpips-pytorch weights) on the
    /// training device, frozen; nil when `loss.perceptualWeight` is 0.
    public static func perceptualDistance(_ config: TokenizerTrainingConfig) throws -> PerceptualDistance? {
        guard config.loss.perceptualWeight > 0 else { return nil }
        let network: LPIPS.Network = switch config.loss.perceptualNetwork {
        case .alex: .alex
        case .vgg: .vgg
        }
        try config.run.device.checkAvailable()
        let lpips = try LPIPS(weights: LPIPS.defaultWeights(network), device: config.run.device.device)
        return { x, y in try lpips(x, y) }
    }

    // MARK: Trainer

    public var summary: String {
        "training \(config.model.name): \(model.parameterCount) parameters\(discriminator.map { ", discriminator \($0.store.parameterCount)" } ?? ""); \(data.summary)"
            + (images.map { "; and \(config.data.imageBatch) still images a step from \($0.summary)" } ?? "")
    }

    public var headline: [String] { [config.loss.reconstruction.rawValue, "entropy_sample", "entropy_codebook"] }

    public var checkpointGroups: [String: any CheckpointGroup] {
        var groups = training.checkpointGroups
        if let discriminatorTraining {
            groups["discriminator"] = discriminatorTraining.store
            groups["discriminator_optimizer"] = discriminatorTraining.optimizer
        }
        return groups
    }

    public var average: (ema: ExponentialMovingAverage, store: ParameterStore)? { training.average }

    public var identity: [String: String] { get throws { ["model_config": try ConfigFile.json(config.model)] } }

    public func extraState() throws -> [String: String] { ["lecam": String(decoding: try JSONEncoder().encode(lecam), as: UTF8.self)] }

    public func restore(extraState: [String: String]) throws {
        if let json = extraState["lecam"] { lecam = try JSONDecoder().decode(LeCAM.self, from: Data(json.utf8)) }
    }

    /// The training clips of a config and the still images beside them (nil without `data.imageBatch`).
    public static func sources(_ config: TokenizerTrainingConfig) throws -> (clips: any ClipSource, images: (any ClipSource)?) {
        let data = try DataSources.make(config.data, shape: config.model.clipShape, seed: config.run.seed)
        guard config.data.imageBatch > 0 else { return (data, nil) }
        var still = config.model.clipShape
        still.frames = 1
        return (data, try MixedSource(config.data.images, named: "data.images", config: config.data, shape: still, seed: config.run.seed &+ 0x5EED_1A6E))
    }

    public func batchMaker() throws -> @Sendable (Int) throws -> (clips: Tensor, images: Tensor?) {
        let data = self.data, images = self.images, batch = config.run.batch, imageBatch = config.data.imageBatch
        let device = self.device, parallel = self.parallel, dtype = config.run.dtype.dtype
        // This rank's rows of the step's global batch, made alone (sources are sharded: each example
        // is a pure function of the seed, the step and its row).
        @Sendable func local(_ source: any ClipSource, _ size: Int, _ step: Int) throws -> Tensor {
            let rows = parallel?.rows(of: size) ?? 0..<size
            return try source.batch(step: step, size: size, rows: Array(rows)).clips.to(dtype, device)
        }
        return { step in
            (try local(data, batch, step), try images.map { try local($0, imageBatch, step) })
        }
    }

    /// One tokenizer update and, when the GAN is on, one discriminator update, each over the step's
    /// micro-batches (`run.accumulate`: gradients of the parts add up to the batch's). Still images,
    /// when the step has them, add their own terms (prefixed `image_`, weighted by `loss.imageWeight`)
    /// to the same update. Returns the loss terms (unweighted, averaged over the parts), the total and
    /// the batch's distinct codes.
    public func step(_ batch: (clips: Tensor, images: Tensor?), context: StepContext) throws -> [String: Double] {
        let l = config.loss
        let gan = discriminator != nil && context.step >= l.discriminatorStart
        let dtype = config.run.dtype.dtype  // losses in the run's dtype, whatever autocast computed in
        let parts = try context.microBatches(batch.clips)
        let imageParts = try batch.images.map { try context.microBatches($0) }
        let clipNorm = config.optimizer.clipNorm
        var fakes: [Tensor] = [], ids: [Tensor] = []
        var values = try training.step(parts: parts.count, context: context, clipNorm: clipNorm) { index in
            let (reconstruction, q, own) = try reconstructionTerms(parts[index], context: context)
            var terms = own
            if let still = imageParts?[index] {
                let (_, imageQ, imageTerms) = try reconstructionTerms(still, context: context)
                try terms.add(imageTerms, prefix: "image_", scale: l.imageWeight)
                ids.append(imageQ.ids)
            }
            if gan, let discriminator {
                try terms.add("generator_adversarial", Adversarial.generatorLoss(context.autocast { try discriminator(reconstruction) }.to(dtype)),
                              weight: l.adversarialWeight)
            }
            let loss = try terms.total()!
            var numbers = try terms.numbers()
            // The historical key of the reconstruction term, whichever distance it is.
            numbers["reconstruction"] = numbers.removeValue(forKey: l.reconstruction.rawValue)
            if imageParts != nil { numbers["image_reconstruction"] = numbers.removeValue(forKey: "image_" + l.reconstruction.rawValue) }
            numbers["quantizer"] = try q.loss.item()
            numbers["loss"] = try loss.item()
            fakes.append(try reconstruction.detach())
            ids.append(q.ids)
            return (loss, numbers)
        }
        values["codes"] = Double(try distinctCodes(concatenate(ids.map { try $0.flatten() }, dim: 0)))

        if gan, let discriminator, let discriminatorTraining {
            let k = Double(parts.count)
            var means = ["real": 0.0, "fake": 0.0]
            var numbers = try discriminatorTraining.step(parts: parts.count, context: context, clipNorm: clipNorm, rateScale: discriminatorRateRatio) { index in
                let part = parts[index]
                let real = l.r1Weight > 0 ? try part.detach().requiresGrad(true) : part
                let realLogits = try context.autocast { try discriminator(real) }.to(dtype)
                let fakeLogits = try context.autocast { try discriminator(fakes[index]) }.to(dtype)
                var d = LossTerms()
                try d.add("discriminator", Adversarial.discriminatorLoss(real: realLogits, fake: fakeLogits, kind: l.discriminatorLoss), weight: 1)
                if l.lecamWeight > 0 { try d.add("lecam", lecam.penalty(real: realLogits, fake: fakeLogits), weight: l.lecamWeight) }
                if l.r1Weight > 0 { try d.add("r1", Adversarial.r1Penalty(logits: realLogits, real: real), weight: l.r1Weight / 2) }
                means["real"]! += try realLogits.mean().item() / k
                means["fake"]! += try fakeLogits.mean().item() / k
                return (try d.total()!, try d.numbers())
            }
            numbers.removeValue(forKey: "grad_norm")  // the tokenizer's is the one logged
            values.merge(numbers) { $1 }
            // LeCAM's running means follow the global batch.
            if let parallel { means = try parallel.mean(means) }
            lecam.update(real: means["real"]!, fake: means["fake"]!)
            values["logits_real"] = means["real"]!
            values["logits_fake"] = means["fake"]!
        }
        return values
    }

    /// A batch's reconstruction, its quantization and its terms: the reconstruction distance, the
    /// quantizer's terms and the perceptual distance when there is one.
    func reconstructionTerms(_ x: Tensor, context: StepContext) throws -> (Tensor, Quantization, LossTerms) {
        let l = config.loss
        let (y, q) = try context.autocast { try model.reconstruct(x, step: context.step) }
        let reconstruction = try y.to(config.run.dtype.dtype)
        var terms = LossTerms()
        try terms.add(l.reconstruction.rawValue, l.reconstruction == .l2 ? mseLoss(reconstruction, x) : l1Loss(reconstruction, x),
                      weight: l.reconstructionWeight)
        try terms.add(q.terms)
        if let perceptual { try terms.add("perceptual", perceptual(frames(x), frames(reconstruction)).mean(), weight: l.perceptualWeight) }
        return (reconstruction, q, terms)
    }

    /// Distinct codes in the step's global batch.
    func distinctCodes(_ ids: Tensor) throws -> Int {
        let counts = try ids.to(.cpu).flatten().bincount(minLength: config.model.quantizer.codebookSize)
        guard let parallel else { return Int(try counts.gt(0).to(.int64).sum().item()) }
        return Int(try parallel.sum(counts).gt(0).to(.int64).sum().item())
    }

    /// Clips (B, C, T, H, W) as frames (B·T, 3, H, W) for the perceptual network (grey repeated).
    func frames(_ clips: Tensor) throws -> Tensor {
        let (b, c, t, h, w) = (clips.size(0), clips.size(1), clips.size(2), clips.size(3), clips.size(4))
        let x = try clips.transpose(1, 2).reshape([b * t, c, h, w])
        return c == 1 ? try x.expand([b * t, 3, h, w]) : x
    }

    /// The held-out clips an evaluation scores: the first `data.evalSamples`, and the whole set at the
    /// end only with `data.evalWholeSet`.
    func heldOut(final: Bool) throws -> Tensor? {
        if heldOutSet == nil { heldOutSet = .some(try data.heldOut(limit: config.data.evalWholeSet ? Int.max : config.data.evalSamples)) }
        guard let clips = heldOutSet??.clips else { return nil }
        return try clips.narrow(0, start: 0, length: final ? clips.size(0) : Swift.min(clips.size(0), config.data.evalSamples))
    }

    /// Scores the EMA weights on the held-out set: PSNR, SSIM, codebook usage and perplexity.
    public func evaluate(step: Int, final: Bool, log: RunLog) throws -> [String: Any] {
        guard let clips = try heldOut(final: final) else { return [:] }
        let scores = try HeldOutEvaluation.score(model, clips: clips, batch: Swift.max(config.run.batch, 16))
        log.say("eval at step \(step): \(scores.summary)")
        if final { finalScores = scores }
        return try scores.record()
    }

    /// Originals above their reconstructions.
    public func samples(step: Int) throws -> [String: Tensor] {
        guard let clips = try heldOut(final: false) else { return [:] }
        return ["reconstructions": try HeldOutEvaluation.grid(model, clips: clips.narrow(0, start: 0, length: Swift.min(8, clips.size(0))))]
    }

    /// tokenizer.safetensors: the EMA weights in `run.saveDtype`, with the run and its final scores in the metadata.
    public func finish(_ folder: RunFolder, metadata: [String: String], dtype: DType) throws -> URL {
        var metadata = metadata
        if let finalScores { metadata["eval"] = finalScores.summary }
        if let warmStart { metadata["warm_start"] = warmStart }
        try model.save(to: tokenizerURL, metadata: metadata, dtype: dtype)
        return tokenizerURL
    }
}
