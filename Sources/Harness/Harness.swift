// One run harness for every trainer (the loop of nanoGPT's train.py, shared): the run folder and its
// lock, per-step seeding from (seed, step), batches made ahead on a background thread, the warmup +
// cosine learning rate fitted to a time budget, windowed means in a JSONL log and TensorBoard,
// evaluations and sample images with the EMA weights swapped in, and atomic checkpoints of named
// state groups that resume exactly. A trainer supplies its state, `step`, `evaluate` and `samples`.
import Foundation
import NN
import Torch

public final class Harness<T: Trainer> {
    public let trainer: T
    public let folder: RunFolder
    public let run: RunConfig
    let resume: Bool
    let config: String
    let prefetch: Int
    let echo: (String) -> Void
    var schedule: WarmupCosine

    /// Completed optimizer steps.
    public private(set) var step = 0
    /// Seconds in training steps, and wall-clock seconds of the whole run (evaluations included),
    /// over every session of the run.
    var elapsed = 0.0
    /// CPU seconds in training steps so far, across resumes (log records' `cpu_seconds`).
    var cpuElapsed = 0.0
    var wallBefore = 0.0
    var sessionStart = Date()

    /// `config` is the trainer's whole config as JSON (config.json, and kept in checkpoints).
    public init(trainer: T, folder: RunFolder, resume: Bool, run: RunConfig, optimizer: OptimizerConfig, config: String,
                prefetch: Int = 4, echo: @escaping (String) -> Void) {
        (self.trainer, self.folder, self.resume, self.run, self.config, self.prefetch, self.echo) = (trainer, folder, resume, run, config, prefetch, echo)
        schedule = WarmupCosine(peak: optimizer.learningRate, warmupSteps: optimizer.warmupSteps, totalSteps: run.steps,
                                floor: optimizer.learningRate * optimizer.finalRatio)
    }

    /// The run's learning rate at a step (the schedule, fitted to any time budget).
    public func learningRate(_ step: Int) -> Double { schedule(step) }

    /// Trains to `run.steps` (or what fits the time budget), evaluating, sampling and checkpointing
    /// on the way, and saves the final model (rank 0; other ranks return nil); with `stoppingAt`, stops
    /// after the first checkpoint at or after that step instead and returns nil (a run continued later
    /// with resume).
    @discardableResult
    public func train(stoppingAt stop: Int? = nil) throws -> URL? {
        let parallel = trainer.parallel, main = parallel?.isMain ?? true
        let ranks = parallel?.worldSize ?? 1
        if run.batch % (ranks * run.accumulate) != 0 {
            throw ConfigError("run.batch \(run.batch) is the global batch and must divide among \(ranks) rank(s) × run.accumulate \(run.accumulate) micro-batches")
        }
        // Rank 0 owns the run folder: its lock, config, log, samples and checkpoints.
        let lock = main ? try folder.create() : nil
        defer { withExtendedLifetime(lock) {} }
        if resume { try restore() }
        let log = main ? try RunLog(url: folder.log, keepingThrough: resume ? step : nil, progressEvery: run.progressEvery, echo: echo) : RunLog()
        if main {
            try OutputFiles.write(Data(config.utf8), to: folder.config)
            try trainer.prepare(folder, log: log)
        }
        // The other ranks prepare from what rank 0 prepared (the generator's token cache).
        try parallel?.barrier("starting the run")
        if !main { try trainer.prepare(folder, log: log) }

        var total = schedule.totalSteps  // run.steps, or the fitted count of a resumed time-budgeted run
        // A signal ends the process in OutputFiles' handler: it says where the run can go on from.
        let outerMessage = Interruption.message
        defer { Interruption.message = outerMessage }
        var checkpointed: Int? = resume ? step : nil
        func sayOnInterruption(_ doing: String = "") {
            guard main else {  // rank 0 speaks for the run
                Interruption.message = nil
                return
            }
            Interruption.message = "interrupted at step \(step)\(doing)" + (checkpointed.map {
                "; checkpoint at \(folder.checkpoint.path) (step \($0)); --resume to continue"
            } ?? " before the first checkpoint (every \(run.checkpointEvery) steps): nothing to resume; run the same command again")
        }
        sayOnInterruption()
        log.say("\(trainer.summary); batch \(run.batch), steps \(step)..<\(total) on \(run.device)")
        // A time budget's refit can move the end past today's count (up to run.steps): batches for all of them.
        let producer = BatchProducer(steps: step..<(run.timeBudget > 0 ? run.steps : total), depth: prefetch, make: try trainer.batchMaker())
        defer { producer.stop() }
        sessionStart = Date()
        let began = sessionStart, firstStep = step
        var sums: [String: Double] = [:], counted = 0
        var timing: (wall: Date, cpu: Double, step: Int)?, fittedOnce = false
        let cpuClock = run.budgetClock == .cpu, unit = run.budgetClock.unit
        // The budget's seconds left on its clock: wall-clock (evaluations included) or CPU in steps.
        func budgetLeft() -> Double { cpuClock ? run.timeBudget - cpuElapsed : run.timeBudget - wallBefore - Date().timeIntervalSince(began) }
        // The wall-clock seconds to the budget's end, for the ETA: a CPU budget's seconds left at this
        // session's wall seconds per CPU-second.
        let cpuBegan = cpuElapsed
        func wallLeft() -> Double? {
            guard run.timeBudget > 0 else { return nil }
            guard cpuClock else { return budgetLeft() }
            let cpu = cpuElapsed - cpuBegan
            return cpu > 0 ? budgetLeft() * Date().timeIntervalSince(began) / cpu : nil
        }
        while step < total {
            let session = step - firstStep
            if run.timeBudget > 0, session >= 80 ? session % 20 == 0 : session >= 40 && session % 10 == 0, let timing {
                // Fit the step count to the budget from the pace on its clock since step 30 of this
                // session; the cosine follows the new end. Before step 80 of the session the fit holds
                // only where waiting for step 80 would overrun the budget (slow steps).
                let spent = cpuClock ? cpuElapsed - timing.cpu : Date().timeIntervalSince(timing.wall)
                let perStep = spent / Double(step - timing.step)
                let left = budgetLeft()
                var fitted = try Self.fitted(from: step, left: left, perStep: perStep, cap: run.steps)
                // Every rank must stop at the same step: the slowest rank's count holds (and so every
                // rank takes the same branch below).
                if let parallel { fitted = try parallel.minimum(fitted) }
                if session >= 80 || fitted < firstStep + 80 {
                    if abs(fitted - total) * 50 > total || !fittedOnce {
                        log.say(String(format: "time budget %g %@ at %.3f %@/step: %d steps", run.timeBudget, unit, perStep, unit, fitted))
                    }
                    fittedOnce = true
                    total = fitted
                    schedule.totalSteps = total
                }
            }
            if step == firstStep + 30 { timing = (Date(), cpuElapsed, step) }
            let started = Date(), cpuStarted = ProcessClock.cpuSeconds()
            // Any torch-side randomness (dropout, masks, noise) is a function of the step too.
            Torch.manualSeed(run.seed &+ 0x5DEE_CE66 &* UInt64(step + 1))
            let context = StepContext(step: step, learningRate: schedule(step), device: run.device.device, mixedPrecision: run.mixedPrecision,
                                      parallel: parallel, accumulate: run.accumulate)
            var values = try trainer.step(try producer.next(), context: context)
            if let parallel { values = try parallel.mean(values) }
            elapsed += Date().timeIntervalSince(started)
            cpuElapsed += ProcessClock.cpuSeconds() - cpuStarted
            step += 1
            sayOnInterruption()
            for (k, v) in values { sums[k, default: 0] += v }
            counted += 1
            let rate = Double(step - firstStep) / Date().timeIntervalSince(began)
            let timeLeft = wallLeft()
            log.progress(step: step, of: total, stepsPerSecond: rate, loss: values["loss"], timeLeft: timeLeft)
            let last = step == total
            if step % run.logEvery == 0 || last {
                let means = sums.mapValues { $0 / Double(counted) }
                var record: [String: Any] = means
                record["lr"] = schedule(step - 1)
                record["steps_per_second"] = rate
                record["examples_per_second"] = rate * Double(run.batch)
                record["training_seconds"] = elapsed  // wall-clock time in steps so far, across resumes
                record["cpu_seconds"] = cpuElapsed  // CPU time in steps: the x axis of quality per CPU-hour on a shared machine
                if case .cuda(let index) = run.device.device { record["cuda_peak_mib"] = try Torch.cudaMemory(device: index).peak >> 20 }
                try log.record(record, step: step)
                let headline = trainer.headline.compactMap { key in means[key].map { String(format: "  %@ %.4g", key, $0) } }.joined()
                log.say(String(format: "step %d/%d  loss %.4f%@  lr %.2e  %.2f steps/s  ETA %@", step, total, means["loss"] ?? .nan, headline,
                               schedule(step - 1), rate, RunLog.duration(RunLog.eta(step: step, of: total, stepsPerSecond: rate, timeLeft: timeLeft))))
                sums = [:]; counted = 0
            }
            if step % run.checkpointEvery == 0 || last {
                sums = [:]; counted = 0  // windows restart at checkpoints, so a resumed run logs the same numbers
                if main { try saveCheckpoint() }
                checkpointed = step
                sayOnInterruption()
                if let stop, step >= stop, !last {
                    try parallel?.barrier("stopping at a checkpoint")
                    return nil
                }
            }
            if step % run.evalEvery == 0 && !last {
                if main { try evaluate(final: false, log: log) }
                try parallel?.barrier("waiting for rank 0's evaluation")
            }
        }
        sayOnInterruption(" (the final evaluation)")
        var saved: URL?
        if main {
            try evaluate(final: true, log: log)
            // Wall-clock time up to here: the final evaluation counts, as every other one did.
            let wall = wallBefore + Date().timeIntervalSince(sessionStart)
            let metadata = ["training_steps": "\(step)", "training_seconds": String(format: "%.0f", elapsed),
                            "cpu_seconds": String(format: "%.0f", cpuElapsed),
                            "wall_seconds": String(format: "%.0f", wall), "training_device": "\(run.device)", "training_config": config,
                            "world_size": "\(parallel?.worldSize ?? 1)"]
            saved = try withAverages { try trainer.finish(folder, metadata: metadata, dtype: run.saveDtype.dtype) }
            log.say(String(format: "saved %@ after %d steps: %.0f s in training steps, %.0f s wall-clock with evaluations (the final one included)",
                           saved!.path, step, elapsed, wall))
        }
        try parallel?.barrier("finishing the run")
        return saved
    }

    /// Scores and samples with the averaged weights; logs the record ("kind": "eval" or "final_eval"),
    /// writes samples/step-N.png (samples/NAME-step-N.png for several) and the TensorBoard images.
    func evaluate(final: Bool, log: RunLog) throws {
        try withAverages {
            var record = try trainer.evaluate(step: step, final: final, log: log)
            if !record.isEmpty {
                record["kind"] = final ? "final_eval" : "eval"
                record["training_seconds"] = elapsed
                record["cpu_seconds"] = cpuElapsed
                try log.record(record, step: step)
            }
            let samples = try trainer.samples(step: step)
            for (name, image) in samples.sorted(by: { $0.key < $1.key }) {
                let png = try PNG.encode(image)
                let file = samples.count == 1 ? String(format: "step-%07d.png", step) : String(format: "%@-step-%07d.png", name, step)
                try OutputFiles.write(png, to: folder.samples.appendingPathComponent(file))
                try log.image("samples/" + name, image, png: png, step: step)
            }
        }
    }

    /// Runs `body` with the averaged weights in the model, then puts the trained weights back; a
    /// failure to put them back is an error, never a silent switch of the weights being trained.
    func withAverages<R>(_ body: () throws -> R) throws -> R {
        guard let (ema, store) = trainer.average else { return try body() }
        return try ema.withAverages(in: store, body)
    }

    func saveCheckpoint() throws {
        let counters = CheckpointCounters(step: step, totalSteps: schedule.totalSteps, elapsed: elapsed,
                                          wall: wallBefore + Date().timeIntervalSince(sessionStart), cpu: cpuElapsed)
        try Checkpoint.save(to: folder.checkpoint, groups: trainer.checkpointGroups, counters: counters,
                            identity: try identity, extra: try trainer.extraState(), config: config)
    }

    var identity: [String: String] { get throws { try trainer.identity.merging(["seed": "\(run.seed)"]) { $1 } } }

    func restore() throws {
        let (counters, extra) = try Checkpoint.restore(from: folder.checkpoint, groups: trainer.checkpointGroups, identity: try identity)
        try trainer.restore(extraState: extra)
        step = counters.step
        elapsed = counters.elapsed
        cpuElapsed = counters.cpu
        wallBefore = counters.wall
        // config.json still holds the settings of the session that saved the checkpoint.
        schedule.totalSteps = try Self.resumedSteps(run: run, counters: counters, before: try Self.runSettings(folder.config))
    }

    /// The step count a resumed run trains to. Without a time budget, run.steps. With one, the count
    /// the budget had fitted (so the learning rate resumes exactly), unless run.steps changed since
    /// the checkpoint's session: lowered, it caps the count; raised, the run is extended while the
    /// budget has time left, and refused with the reason where the budget is what stopped it.
    static func resumedSteps(run: RunConfig, counters: CheckpointCounters, before: RunSettings?) throws -> Int {
        guard run.steps >= counters.step else {
            throw ConfigError("run.steps \(run.steps) is behind the checkpoint's step \(counters.step): a resumed run only goes forward; "
                + "give run.steps of at least \(counters.step), or start a new run in another folder")
        }
        guard run.timeBudget > 0 else { return run.steps }
        let spent = run.budgetClock == .cpu ? counters.cpu : counters.wall
        // A raised budget, or one on another clock, refits the count from the pace, as a new run does
        // (the cosine follows the new end). Until this session's pace is timed (steps 30 to 80), the
        // earlier sessions' pace sets the count, so the learning rate does not go back to its peak.
        if let before, run.timeBudget > before.timeBudget || run.budgetClock != before.budgetClock, before.timeBudget > 0,
           spent < run.timeBudget {
            guard counters.step > 0, spent > 0 else { return run.steps }
            return try fitted(from: counters.step, left: run.timeBudget - spent, perStep: spent / Double(counters.step), cap: run.steps)
        }
        guard let before, run.steps > before.steps else { return Swift.min(run.steps, counters.totalSteps) }
        let budgetEnded = counters.totalSteps < before.steps && run.timeBudget <= before.timeBudget
        guard !budgetEnded, spent < run.timeBudget else {
            throw ConfigError(String(format: "run.steps %d cannot extend this run: its time budget (run.timeBudget %.0f %@, %.0f of it spent) "
                + "fitted it to %d steps; raise run.timeBudget too (0: no budget), e.g. --set run.timeBudget=0",
                                     run.steps, run.timeBudget, run.budgetClock.unit, spent, counters.totalSteps))
        }
        return run.steps
    }

    /// The step count a budget with `left` seconds fits at `perStep` seconds a step from `step`: at
    /// least one more step, at most `cap`.
    static func fitted(from step: Int, left: Double, perStep: Double, cap: Int) throws -> Int {
        Swift.min(cap, step + Swift.max(1, try Checked.int(clamping: left / perStep, to: 0...cap, "the steps left in run.timeBudget")))
    }

    /// The settings of a checkpoint's session that a resume compares with its own.
    struct RunSettings {
        var steps: Int
        var timeBudget: Double
        var budgetClock: BudgetClock = .wall
    }

    /// run.steps, run.timeBudget and run.budgetClock of a trainer's config.json (nil when there is
    /// none, or it has no run section).
    static func runSettings(_ url: URL) throws -> RunSettings? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) } catch {
            throw ConfigError("\(url.path) is not the JSON config the run wrote (\(error.localizedDescription)); restore it to resume")
        }
        guard let run = (object as? [String: Any])?["run"] as? [String: Any], let steps = (run["steps"] as? NSNumber)?.intValue else { return nil }
        return RunSettings(steps: steps, timeBudget: (run["timeBudget"] as? NSNumber)?.doubleValue ?? 0,
                           budgetClock: (run["budgetClock"] as? String).flatMap(BudgetClock.init(rawValue:)) ?? .wall)
    }
}
