// Training the tokenizer (MAGVIT-v2 §3.2, REFERENCE.md §3): reconstruction (L1 or L2), LPIPS
// perceptual loss, LFQ entropy and commitment losses, and a non-saturating GAN loss against a
// LeCAM-regularised discriminator; AdamW with warmup + cosine, clipping, EMA weights for evaluation,
// a JSONL log, periodic held-out scores and sample grids, and checkpoints that resume exactly.
import Foundation
import NN
import Tokenizer
import Torch

/// A distance between clips used as the perceptual loss: (B·T, C, H, W) pairs in [-1, 1] → (B·T).
public typealias PerceptualDistance = (Tensor, Tensor) throws -> Tensor

public final class TokenizerTrainer {
    public let config: TrainingConfig
    public let directory: URL
    public let device: Device
    public let model: VideoTokenizer
    public let data: TrainingData
    let optimizer: AdamW
    let ema: ExponentialMovingAverage?
    let discriminator: Discriminator?
    let discriminatorOptimizer: AdamW?
    let perceptual: PerceptualDistance?
    var lecam: LeCAM
    var schedule: WarmupCosine
    /// The discriminator's rate over the tokenizer's; both follow one schedule.
    let discriminatorRateRatio: Double
    /// Completed optimizer steps.
    public private(set) var step = 0
    /// Seconds spent in training steps, and wall-clock seconds of the whole run (evaluations included),
    /// over every session of the run; `sessionStart` is when this session's loop began.
    var elapsed: Double = 0
    var wallBefore: Double = 0
    var sessionStart = Date()
    /// Opened once the step to resume from is known.
    private(set) var log: TrainingLog!

    public var checkpointURL: URL { directory.appendingPathComponent("checkpoint.safetensors") }
    public var tokenizerURL: URL { directory.appendingPathComponent("tokenizer.safetensors") }

    /// Sets up a run in `directory` (created if needed). A directory that already holds a checkpoint
    /// is continued with `resume` and refused without it, so nothing written is overwritten by mistake.
    public init(config: TrainingConfig, directory: URL, resume: Bool, perceptual: PerceptualDistance?,
                echo: @escaping (String) -> Void = { print($0) }) throws {
        self.config = config
        self.directory = directory
        let run = config.run
        device = try Device(parsing: run.device)
        if run.threads > 0 { Torch.threads = run.threads }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let checkpoint = directory.appendingPathComponent("checkpoint.safetensors")
        let exists = FileManager.default.fileExists(atPath: checkpoint.path)
        if exists && !resume {
            throw ConfigError("\(directory.path) already holds a run; continue it with --resume or choose another output folder")
        }
        if resume && !exists { throw ConfigError("\(directory.path): no checkpoint.safetensors to resume from") }
        if config.loss.perceptualWeight > 0 && perceptual == nil {
            throw ConfigError("loss.perceptualWeight is \(config.loss.perceptualWeight) but no perceptual network was given")
        }
        self.perceptual = config.loss.perceptualWeight > 0 ? perceptual : nil

        Torch.manualSeed(run.seed)
        data = try TrainingData(config)
        model = try VideoTokenizer(config: config.model, device: device)
        if run.initialization == "inflated" { try model.inflateTemporalKernels() }
        let o = config.optimizer
        optimizer = AdamW(model.store.parameters, learningRate: o.learningRate, betas: (o.betas[0], o.betas[1]), weightDecay: o.weightDecay)
        ema = run.emaDecay > 0 ? try ExponentialMovingAverage(model.store.parameters, decay: run.emaDecay) : nil
        if config.loss.adversarialWeight > 0 {
            let d = try Discriminator(imageChannels: config.model.imageChannels, resolution: config.model.resolution,
                                      frames: config.model.clipFrames, channels: config.loss.discriminatorChannels, device: device)
            discriminator = d
            let rate = o.discriminatorLearningRate > 0 ? o.discriminatorLearningRate : o.learningRate
            discriminatorOptimizer = AdamW(d.store.parameters, learningRate: rate, betas: (o.betas[0], o.betas[1]), weightDecay: o.weightDecay)
        } else {
            discriminator = nil
            discriminatorOptimizer = nil
        }
        discriminatorRateRatio = o.discriminatorLearningRate > 0 ? o.discriminatorLearningRate / o.learningRate : 1
        lecam = LeCAM(decay: config.loss.lecamDecay)
        schedule = WarmupCosine(peak: o.learningRate, warmupSteps: o.warmupSteps, totalSteps: run.steps, floor: o.learningRate * o.finalRatio)
        if resume { try restore() }
        log = try TrainingLog(url: directory.appendingPathComponent("log.jsonl"), keepingThrough: resume ? step : nil, echo: echo)
        try Data(try config.json().utf8).write(to: directory.appendingPathComponent("config.json"), options: .atomic)
    }

    // MARK: the loop

    /// Trains to `run.steps` (or the time budget), evaluating, sampling and checkpointing on the way;
    /// returns the final held-out scores (EMA weights) when there is a held-out set.
    @discardableResult
    public func train() throws -> HeldOutScores? {
        let run = config.run
        var total = schedule.totalSteps  // run.steps, or the fitted count of a resumed time-budgeted run
        log.say("training \(config.model.name): \(model.parameterCount) parameters\(discriminator.map { ", discriminator \($0.store.parameterCount)" } ?? ""); \(data.summary); batch \(run.batch), steps \(step)..<\(total) on \(device)")
        let data = self.data, batch = run.batch, device = self.device
        let producer = BatchProducer(steps: step..<total, depth: config.data.prefetch) { s in try data.batch(step: s, size: batch).to(device) }
        defer { producer.stop() }
        sessionStart = Date()
        let began = sessionStart, firstStep = step
        var sums: [String: Double] = [:], counted = 0
        var timing: (Date, Int)?
        while step < total {
            if run.timeBudget > 0, step >= firstStep + 80, (step - firstStep) % 20 == 0, let (t, s) = timing {
                // Fit the step count to the wall-clock budget (evaluations included) from the average pace
                // since step 30 of this session; the cosine follows the new end.
                let perStep = Date().timeIntervalSince(t) / Double(step - s)
                let left = run.timeBudget - wallBefore - Date().timeIntervalSince(began)
                let fitted = Swift.min(run.steps, step + Swift.max(1, Int(left / perStep)))
                if abs(fitted - total) * 50 > total || step == firstStep + 80 {
                    log.say(String(format: "time budget %.0f s at %.3f s/step: %d steps", run.timeBudget, perStep, fitted))
                }
                total = fitted
                schedule.totalSteps = total
            }
            if step == firstStep + 30 { timing = (Date(), step) }
            let started = Date()
            let values = try trainStep(try producer.next())
            elapsed += Date().timeIntervalSince(started)
            step += 1
            for (k, v) in values { sums[k, default: 0] += v }
            counted += 1
            let rate = Double(step - firstStep) / Date().timeIntervalSince(began)
            log.progress(step: step, of: total, stepsPerSecond: rate, loss: values["loss"] ?? 0)
            let last = step == total
            if step % run.logEvery == 0 || last {
                var record: [String: Any] = sums.mapValues { $0 / Double(counted) }
                record["step"] = step
                record["lr"] = schedule(step - 1)
                record["steps_per_second"] = rate
                record["clips_per_second"] = rate * Double(batch)
                if case .cuda(let index) = device { record["cuda_peak_mib"] = try Torch.cudaMemory(device: index).peak >> 20 }
                try log.record(record)
                let recon = sums["reconstruction", default: 0] / Double(counted)
                log.say(String(format: "step %d/%d  loss %.4f  %@ %.5f  entropy %.3f/%.3f  lr %.2e  %.2f steps/s  ETA %@", step, total,
                               sums["loss", default: 0] / Double(counted), config.loss.reconstruction.rawValue, recon,
                               sums["entropy_sample", default: 0] / Double(counted), sums["entropy_codebook", default: 0] / Double(counted),
                               schedule(step - 1), rate, TrainingLog.duration(Double(total - step) / rate)))
                sums = [:]; counted = 0
            }
            if step % run.checkpointEvery == 0 || last {
                sums = [:]; counted = 0  // windows restart at checkpoints, so a resumed run logs the same numbers
                try saveCheckpoint()
            }
            if step % run.evalEvery == 0 && !last { try evaluate(final: false) }
        }
        var metadata = ["training_steps": "\(step)", "training_seconds": String(format: "%.0f", elapsed),
                        "wall_seconds": String(format: "%.0f", wallBefore + Date().timeIntervalSince(sessionStart)), "training_device": "\(device)",
                        "training_config": try config.json()]
        let scores = try evaluate(final: true)
        if let scores { metadata["eval"] = scores.summary }
        try withEMAWeights { try model.save(to: tokenizerURL, metadata: metadata, dtype: DType.allCases.first { "\($0)" == run.saveDtype }) }
        log.say(String(format: "saved %@ after %d steps: %.0f s in training steps, %.0f s wall-clock with evaluations", tokenizerURL.path,
                       step, elapsed, wallBefore + Date().timeIntervalSince(sessionStart)))
        return scores
    }

    /// One generator update and, when the GAN is on, one discriminator update. Returns the loss terms.
    func trainStep(_ x: Tensor) throws -> [String: Double] {
        let l = config.loss
        // Any torch-side randomness is a function of the step too.
        Torch.manualSeed(config.run.seed &+ 0x5DEE_CE66 &* UInt64(step + 1))
        let gan = discriminator != nil && step >= l.discriminatorStart
        var values: [String: Double] = [:]
        optimizer.learningRate = schedule(step)
        try optimizer.zeroGrad()
        let (y, q) = try autocast { try model.reconstruct(x, step: step) }
        let reconstruction = try y.to(.float32)
        let rec = l.reconstruction == .l2 ? try mseLoss(reconstruction, x) : try l1Loss(reconstruction, x)
        var loss = try rec * l.reconstructionWeight + q.loss
        values["reconstruction"] = try rec.item()
        values["quantizer"] = try q.loss.item()
        values["commitment"] = try q.commitment.item()
        if let e = q.perSampleEntropy { values["entropy_sample"] = try e.item() }
        if let e = q.codebookEntropy { values["entropy_codebook"] = try e.item() }
        if let e = q.codebookLoss { values["codebook"] = try e.item() }
        if let perceptual {
            let p = try perceptual(frames(x), frames(reconstruction)).mean()
            loss = try loss + p * l.perceptualWeight
            values["perceptual"] = try p.item()
        }
        if gan, let discriminator {
            let g = try Adversarial.generatorLoss(autocast { try discriminator(reconstruction) }.to(.float32))
            loss = try loss + g * l.adversarialWeight
            values["generator_adversarial"] = try g.item()
        }
        try loss.backward()
        if config.optimizer.clipNorm > 0 { values["grad_norm"] = try clipGradientNorm(model.store.parameters, maxNorm: config.optimizer.clipNorm) }
        try optimizer.update()
        try ema?.update()
        values["loss"] = try loss.item()
        values["codes"] = Double(try q.usage().used)
        if gan, let discriminator, let discriminatorOptimizer {
            discriminatorOptimizer.learningRate = schedule(step) * discriminatorRateRatio
            try discriminatorOptimizer.zeroGrad()
            let real = l.r1Weight > 0 ? try x.detach().requiresGrad(true) : x
            let realLogits = try autocast { try discriminator(real) }.to(.float32)
            let fakeLogits = try autocast { try discriminator(reconstruction.detach()) }.to(.float32)
            var d = try Adversarial.discriminatorLoss(real: realLogits, fake: fakeLogits, kind: l.discriminatorLoss)
            values["discriminator"] = try d.item()
            if l.lecamWeight > 0 {
                let reg = try lecam.penalty(real: realLogits, fake: fakeLogits)
                d = try d + reg * l.lecamWeight
                values["lecam"] = try reg.item()
            }
            if l.r1Weight > 0 {
                let r1 = try Adversarial.r1Penalty(logits: realLogits, real: real)
                d = try d + r1 * (l.r1Weight / 2)
                values["r1"] = try r1.item()
            }
            try d.backward()
            if config.optimizer.clipNorm > 0 { try clipGradientNorm(discriminator.store.parameters, maxNorm: config.optimizer.clipNorm) }
            try discriminatorOptimizer.update()
            lecam.update(real: try realLogits.mean().item(), fake: try fakeLogits.mean().item())
            values["logits_real"] = try realLogits.mean().item()
            values["logits_fake"] = try fakeLogits.mean().item()
        }
        return values
    }

    /// Clips (B, C, T, H, W) as frames (B·T, 3, H, W) for the perceptual network (grey repeated).
    func frames(_ clips: Tensor) throws -> Tensor {
        let (b, c, t, h, w) = (clips.size(0), clips.size(1), clips.size(2), clips.size(3), clips.size(4))
        let x = try clips.transpose(1, 2).reshape([b * t, c, h, w])
        return c == 1 ? try x.expand([b * t, 3, h, w]) : x
    }

    func autocast<R>(_ body: () throws -> R) throws -> R {
        if case .cuda = device, config.run.mixedPrecision { return try withAutocast(device: device, dtype: .bfloat16, body) }
        return try body()
    }

    // MARK: evaluation

    /// Scores the EMA weights on the held-out set (a subset of `data.evalSamples` during training,
    /// all of it when `final`), logs the scores and writes a sample grid.
    @discardableResult
    func evaluate(final: Bool) throws -> HeldOutScores? {
        guard let heldOut = data.heldOut else { return nil }
        let n = final ? heldOut.size(0) : Swift.min(heldOut.size(0), config.data.evalSamples)
        let clips = try heldOut.narrow(0, start: 0, length: n)
        return try withEMAWeights {
            let scores = try HeldOutEvaluation.score(model, clips: clips, batch: Swift.max(config.run.batch, 16))
            var entry = try JSONSerialization.jsonObject(with: JSONEncoder().encode(scores)) as? [String: Any] ?? [:]
            entry["step"] = step
            entry["kind"] = final ? "final_eval" : "eval"
            try log.record(entry)
            log.say("eval at step \(step): \(scores.summary)")
            let samples = directory.appendingPathComponent("samples")
            try FileManager.default.createDirectory(at: samples, withIntermediateDirectories: true)
            try HeldOutEvaluation.writeGrid(model, clips: clips, to: samples.appendingPathComponent(String(format: "step-%07d.png", step)))
            return scores
        }
    }

    /// Runs `body` with the EMA weights in the model, then puts the trained weights back.
    func withEMAWeights<R>(_ body: () throws -> R) throws -> R {
        guard let ema else { return try body() }
        return try ema.withAverages(in: model.store, body)
    }

    // MARK: checkpoints

    /// Everything needed to continue exactly: weights, EMA, discriminator, both optimizers, the step,
    /// the LeCAM means, the schedule length and the seed (the data and torch streams derive from
    /// seed and step). Written atomically.
    func saveCheckpoint() throws {
        var tensors: [String: Tensor] = [:]
        for (k, v) in try model.store.snapshot() { tensors["model." + k] = v }
        for (k, v) in try optimizer.state() { tensors["optimizer." + k] = v }
        if let ema { for (k, v) in ema.shadow { tensors["ema." + k] = v } }
        if let discriminator, let discriminatorOptimizer {
            for (k, v) in try discriminator.store.snapshot() { tensors["discriminator." + k] = v }
            for (k, v) in try discriminatorOptimizer.state() { tensors["discriminator_optimizer." + k] = v }
        }
        let metadata = ["magvit.format": "training-state-v1", "step": "\(step)", "total_steps": "\(schedule.totalSteps)",
                        "seed": "\(config.run.seed)", "elapsed_seconds": "\(elapsed)",
                        "wall_seconds": "\(wallBefore + Date().timeIntervalSince(sessionStart))",
                        "lecam": String(decoding: try JSONEncoder().encode(lecam), as: UTF8.self), "config": try config.json()]
        try SafeTensors.write(tensors, metadata: metadata, to: checkpointURL)
    }

    func restore() throws {
        let state = try SafeTensors.read(checkpointURL)
        let m = state.metadata
        guard m["magvit.format"] == "training-state-v1", let s = m["step"].flatMap(Int.init), let seed = m["seed"].flatMap(UInt64.init),
              let saved = m["config"] else {
            throw ConfigError("\(checkpointURL.path) is not a Magvit training checkpoint")
        }
        let previous = try TrainingConfig.parse(saved, name: "the checkpoint's config")
        guard try previous.model.json() == config.model.json(), seed == config.run.seed else {
            throw ConfigError("\(checkpointURL.path) was trained with another model or seed; resume with the config it was started with")
        }
        try model.store.load(state.tensors(prefixed: "model."))
        try optimizer.load(state: state.tensors(prefixed: "optimizer."))
        if let ema { try ema.load(state.tensors(prefixed: "ema.")) }
        if let discriminator, let discriminatorOptimizer {
            let weights = state.tensors(prefixed: "discriminator.")
            if weights.isEmpty {
                throw ConfigError("\(checkpointURL.path) has no discriminator; it was trained without the GAN loss")
            }
            try discriminator.store.load(weights)
            try discriminatorOptimizer.load(state: state.tensors(prefixed: "discriminator_optimizer."))
        }
        if let json = m["lecam"] { lecam = try JSONDecoder().decode(LeCAM.self, from: Data(json.utf8)) }
        elapsed = m["elapsed_seconds"].flatMap(Double.init) ?? 0
        wallBefore = m["wall_seconds"].flatMap(Double.init) ?? elapsed
        step = s
        if let total = m["total_steps"].flatMap(Int.init), config.run.timeBudget > 0 { schedule.totalSteps = total }
    }
}

extension TokenizerConfig {
    fileprivate func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
