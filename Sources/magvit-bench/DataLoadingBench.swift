// `magvit-bench data-parallel-loading`: what one rank's data costs a step as the number of ranks W
// grows (issue 36), before and after sharding. Whole: the rank makes the step's global batch and
// keeps its slice (the path before sharding, B clips a rank whatever W). Sharded: the rank makes
// only its rows (B/W). Ranks are simulated on this machine one after another, each on one libtorch
// thread, so a rank's time is not inflated by the others sharing the cores; both paths are timed on
// the same sources, steps and ranks, alternating. The global batch is fixed (strong scaling), or with
// --per-rank grows with W at a fixed batch per rank (weak scaling).
import ArgumentParser
import Dataset
import Foundation
import Harness
import Torch
import TokenizerTraining

struct DataLoadingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data-parallel-loading",
        abstract: "Per-rank data cost a step for W simulated ranks: the whole global batch sliced against sharded sources.")

    @Option(help: "A tokenizer training config whose data section is timed (default: configs/tokenizer-mix.yaml: videos, photo pans, still images).")
    var config: String?
    @Option(help: "Global batch of clips (run.batch); must divide by every W.") var batch = 16
    @Option(help: "Global batch of still images beside the clips (data.imageBatch; 0: none); must divide by every W.") var imageBatch = 8
    @Option(help: "Numbers of ranks W to simulate.") var ranks = IntegerList([1, 2, 4, 8])
    @Option(help: "Timed steps per rank (after one untimed step).") var steps = 3
    @Option(help: "libtorch threads of each simulated rank.") var threads = 1
    @Flag(help: "--batch and --image-batch are per rank: the global batch grows with W (weak scaling), as when ranks are added at a fixed batch per GPU.")
    var perRank = false

    func validate() throws {
        try requirePositive(["--batch": batch, "--steps": steps, "--threads": threads])
        guard imageBatch >= 0 else { throw ValidationError("--image-batch must not be negative") }
        for w in ranks.values where !perRank && (batch % w != 0 || imageBatch % w != 0) {
            throw ValidationError("--batch \(batch) and --image-batch \(imageBatch) must divide by every W in --ranks (\(w) does not)")
        }
    }

    func run() throws {
        let path = config ?? repositoryRoot.appendingPathComponent("configs/tokenizer-mix.yaml").path
        var c = try TokenizerTrainingConfig.load(URL(fileURLWithPath: path))
        let imageBatch = c.data.images.isEmpty ? 0 : self.imageBatch
        c.data.imageBatch = imageBatch
        Torch.threads = threads
        let loadStart = now()
        let (clips, images) = try TokenizerTrainer.sources(c)
        print(String(format: "loaded in %.1f s: %@%@", now() - loadStart, clips.summary, images.map { "; still images: \($0.summary)" } ?? ""))
        let shape = c.model.clipShape
        print("clips \(shape.channels)x\(shape.frames)x\(shape.size)x\(shape.size), \(perRank ? "per-rank" : "global") batch \(batch) clips + \(imageBatch) still images, "
              + "\(steps) timed steps per rank, \(threads) thread(s) per rank, ranks one after another")

        /// A rank's tensors of a step, as the trainer makes them: (clips made, still images made, seconds).
        func rankStep(_ rank: Int, of worldSize: Int, step: Int, sharded: Bool) throws -> (clips: Int, images: Int, seconds: Double) {
            var made: [Int] = []
            let scale = perRank ? worldSize : 1
            let start = now()
            for (source, size) in [(clips, batch * scale)] + (images.map { [($0, imageBatch * scale)] } ?? []) {
                let rows = Array(DataParallel.rows(of: size, rank: rank, worldSize: worldSize))
                let local = sharded ? try source.batch(step: step, size: size, rows: rows) : try source.batch(step: step, size: size).rows(rows)
                _ = try local.clips.contiguous()
                made.append(sharded ? rows.count : size)
            }
            return (made[0], made.count > 1 ? made[1] : 0, now() - start)
        }

        print("   W  path     clips made  images made  ms a step (mean of ranks)  (slowest rank)   (made: per rank and step)")
        var results: [(w: Int, sharded: Bool, mean: Double)] = []
        for w in ranks.values {
            var seconds = [false: [Double](repeating: 0, count: w), true: [Double](repeating: 0, count: w)]
            var made = [false: (0, 0), true: (0, 0)]
            for rank in 0..<w {
                for sharded in [false, true] { _ = try rankStep(rank, of: w, step: 0, sharded: sharded) }  // warm-up
                for step in 1...steps {
                    for sharded in step % 2 == 0 ? [true, false] : [false, true] {
                        let r = try rankStep(rank, of: w, step: step, sharded: sharded)
                        seconds[sharded]![rank] += r.seconds / Double(steps)
                        made[sharded] = (r.clips, r.images)
                    }
                }
            }
            for sharded in [false, true] {
                let s = seconds[sharded]!, mean = s.reduce(0, +) / Double(w)
                results.append((w, sharded, mean))
                print(String(format: "%4d  %@  %10d  %11d  %25.1f  %14.1f", w, sharded ? "sharded" : "whole  ", made[sharded]!.0, made[sharded]!.1,
                             mean * 1000, s.max()! * 1000))
            }
        }
        if let one = results.first(where: { $0.sharded }), let last = results.last(where: { $0.sharded }), let whole = results.last(where: { !$0.sharded }) {
            print(String(format: "sharded: a rank's data time a step at W = %d is %.2fx that at W = %d; the whole-batch path at W = %d takes %.1fx the sharded one",
                         last.w, last.mean / one.mean, one.w, whole.w, whole.mean / last.mean))
        }
    }
}
