// `magvit-bench dump-data`: a tokenizer config's training batches and held-out set, written to
// safetensors exactly as the trainer makes them (the same sources, seed and step numbers), so that a
// peer's training code can be run on the very same data and scored on the very same frames
// (scripts/peer-open-magvit2.sh, issue 31). Tensors are (N, C, T, S, S) float32 in [-1, 1]:
// "batches" holds steps FROM..<FROM+STEPS of run.batch clips each, one after another; "held_out" the
// first data.evalSamples clips of the held-out set the trainer scores.
import ArgumentParser
import Foundation
import NN
import Torch
import TokenizerTraining

struct DataDump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-data",
        abstract: "Writes a tokenizer config's training batches (and held-out set) to safetensors, as the trainer makes them.")

    @Argument(help: "Tokenizer training config (YAML), e.g. configs/recipes/image-first.yaml.") var config: String
    @Option(name: .customLong("set"), help: "Config overrides key.path=value, as `magvit train --set`.") var assignments: [String] = []
    @Option(help: "First training step whose batch is written.") var from = 0
    @Option(help: "Number of consecutive steps' batches to write (0: none).") var steps = 1
    @Flag(help: "Also write the held-out clips the trainer's evaluations score (\"held_out\").") var heldOut = false
    @Option(help: "libtorch threads for making the batches.") var threads = 1
    @Option(help: "Output .safetensors file (written to a temporary name, then moved into place).") var output: String

    func validate() throws {
        guard from >= 0, steps >= 0 else { throw ValidationError("--from and --steps must not be negative") }
        guard steps > 0 || heldOut else { throw ValidationError("nothing to write: --steps 0 without --held-out") }
        try requirePositive(["--threads": threads])
    }

    func run() throws {
        Torch.threads = threads
        let settings = try TokenizerTrainingConfig.load(URL(fileURLWithPath: config), assignments: assignments)
        let (clips, images) = try TokenizerTrainer.sources(settings)
        guard images == nil else { throw ValidationError("\(config): data.imageBatch is set; dump-data writes a single stream of clips") }
        var tensors: [String: Tensor] = [:]
        if steps > 0 {
            let batches = try (from..<(from + steps)).map { try clips.batch(step: $0, size: settings.run.batch).clips.to(.float32) }
            tensors["batches"] = try concatenate(batches, dim: 0).contiguous()
        }
        if heldOut {
            guard let set = try clips.heldOut(limit: settings.data.evalSamples)?.clips else {
                throw ValidationError("\(config): the config names no held-out clips (data.eval or the sources' eval)")
            }
            tensors["held_out"] = try set.narrow(0, start: 0, length: Swift.min(set.size(0), settings.data.evalSamples)).to(.float32).contiguous()
        }
        let url = URL(fileURLWithPath: output)
        let partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        try SafeTensors.write(tensors, metadata: ["config": config, "from": String(from), "steps": String(steps),
                                                  "batch": String(settings.run.batch), "seed": String(settings.run.seed)], to: partial)
        try? FileManager.default.removeItem(at: url)
        try FileManager.default.moveItem(at: partial, to: url)
        print("dump-data: \(tensors.keys.sorted().map { "\($0) \(tensors[$0]!.shape)" }.joined(separator: ", ")) -> \(output)")
    }
}
