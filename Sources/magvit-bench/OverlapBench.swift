// `magvit-bench data-parallel-overlap`: the tokenizer trainer's step time over W ranks with the
// gradient all-reduce overlapped with the last backward (hooks start each bucket as backward
// finishes it) against all-reduced after backward (issue 36). The bench starts its W ranks itself,
// as `magvit launch` does (one process each, c10d over Gloo on localhost); both modes run the same
// steps of one run, alternating in rounds whose order flips each round, after untimed warm-up
// steps. It prints each round's mean step time and the time a step waited in `averageGradients`
// (what of the all-reduce backward did not hide), and the medians over the rounds.
import ArgumentParser
import Foundation
import Harness
import Torch
import TokenizerTraining

struct OverlapBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data-parallel-overlap",
        abstract: "Tokenizer step time over W ranks with the gradient all-reduce overlapped with backward against after it.")

    @Option(help: "A tokenizer training config (default: benchmarks/distributed.yaml, the throughput config of docs/distributed.md).")
    var config: String?
    @OptionGroup var device: DeviceOption
    @Option(help: "Ranks (processes) to start.") var nproc = 2
    @Option(help: "Timed steps per mode and round.") var steps = 6
    @Option(help: "Rounds; each times both modes, in alternating order.") var rounds = 3
    @Option(help: "Untimed steps first.") var warmup = 2
    @Option(help: "libtorch threads of each rank (default: cores / ranks).") var threads: Int?
    @Option(help: "Elements per gradient bucket.") var bucketElements = 1 << 22

    func validate() throws {
        try requirePositive(["--steps": steps, "--rounds": rounds, "--bucket-elements": bucketElements])
        guard nproc >= 2 else { throw ValidationError("--nproc must be at least 2 (a data-parallel run), got \(nproc)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
        if let threads { try requirePositive(["--threads": threads]) }
    }

    func run() throws {
        guard let environment = try DistributedEnvironment.detect() else {
            // Not a rank yet: start the ranks, this same command in each.
            let status = try Launcher.run(executable: Bundle.main.executablePath ?? CommandLine.arguments[0],
                                          arguments: Array(CommandLine.arguments.dropFirst()), processes: nproc) { print($0) }
            if status != 0 { throw ExitCode(status) }
            return
        }
        let path = config ?? repositoryRoot.appendingPathComponent("benchmarks/distributed.yaml").path
        var c = try TokenizerTrainingConfig.load(URL(fileURLWithPath: path))
        c.run.threads = threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount / environment.worldSize)
        // A GPU per rank, as `magvit train` does under a launcher.
        c.run.device = DeviceSetting(try device.resolved() == .cpu ? .cpu : .cuda(environment.localRank))
        let parallel = try environment.join(timeout: c.run.collectiveTimeout, backend: c.run.backend.resolved(for: c.run.device.device))
        parallel.bucketElements = bucketElements
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-overlap-\(getpid())")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let trainer = try TokenizerTrainer(config: c, directory: scratch, resume: false, perceptual: nil, parallel: parallel) { _ in }
        let makeBatch = try trainer.batchMaker()
        let say: (String) -> Void = { if parallel.isMain { print($0) } }
        var step = c.loss.discriminatorStart  // the GAN on: two reductions a step, the tokenizer's and the discriminator's
        func timed(_ count: Int, overlapped: Bool) throws -> (step: Double, wait: Double, early: Int, buckets: Int) {
            parallel.overlapsReduction = overlapped
            let (wait0, early0, buckets0) = (parallel.reductionWait, parallel.bucketsStartedEarly, parallel.bucketsReduced)
            var seconds = 0.0
            for _ in 0..<count {
                let batch = try makeBatch(step)
                try parallel.barrier("starting a step together")
                let start = now()
                _ = try trainer.step(batch, context: StepContext(step: step, learningRate: 1e-4, device: c.run.device.device, mixedPrecision: c.run.mixedPrecision,
                                                                  parallel: parallel))
                seconds += now() - start
                step += 1
            }
            let n = Double(max(count, 1))
            return (seconds / n, (parallel.reductionWait - wait0) / n, parallel.bucketsStartedEarly - early0, parallel.bucketsReduced - buckets0)
        }
        say("\(environment.worldSize) ranks x \(c.run.threads) thread(s) on \(c.run.device), backend \(parallel.group.backend), global batch \(c.run.batch), buckets of \(bucketElements) elements, "
            + "\(steps) timed steps per mode and round, \(rounds) rounds; \(trainer.summary)")
        _ = try timed(warmup, overlapped: true)
        var results: [Bool: [(step: Double, wait: Double)]] = [true: [], false: []]
        say("round  mode        ms a step  ms waiting for the all-reduce  buckets started during backward")
        for round in 0..<rounds {
            for overlapped in round % 2 == 0 ? [true, false] : [false, true] {
                let r = try timed(steps, overlapped: overlapped)
                results[overlapped]!.append((r.step, r.wait))
                say(String(format: "%5d  %@  %9.1f  %29.1f  %d of %d", round, overlapped ? "overlapped" : "after     ", r.step * 1000, r.wait * 1000, r.early, r.buckets))
            }
        }
        func median(_ xs: [Double]) -> Double { let s = xs.sorted(); return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2 }
        let on = results[true]!, off = results[false]!
        let (stepOn, stepOff) = (median(on.map(\.step)), median(off.map(\.step)))
        let (waitOn, waitOff) = (median(on.map(\.wait)), median(off.map(\.wait)))
        say(String(format: "median ms a step: overlapped %.1f, after backward %.1f (%.2fx); waiting for the all-reduce %.1f vs %.1f ms: %.1f ms a step hidden behind backward",
                   stepOn * 1000, stepOff * 1000, stepOff / stepOn, waitOn * 1000, waitOff * 1000, (waitOff - waitOn) * 1000))
    }
}
