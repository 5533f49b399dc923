// `magvit-bench sampling`: generator decoding speed on this machine, tokens/s and images/s for each
// step count, guidance off and on (guidance doubles the transformer passes). With --checkpoint the
// trained generator is timed with its tokenizer's decoding included in images/s; without, an
// untrained model of the Fashion-MNIST generator's size (configs/fashion-mnist-generator.yaml).
import ArgumentParser
import Foundation
import Generator
import Torch

struct SamplingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sampling", abstract: "Generator decoding speed, tokens/s and images/s per step count.")

    @Option(help: "A trained generator checkpoint (default: an untrained model of the Fashion-MNIST generator's size).")
    var checkpoint: String?
    @Option(help: "Samples per batch.") var count = 100
    @Option(help: "Step counts to time.") var steps = IntegerList([8, 12, 24])
    @OptionGroup var cpu: ThreadsOption
    @OptionGroup var device: DeviceOption

    func validate() throws { try requirePositive(["--count": count]) }

    func run() throws {
        let device = try self.device.resolved()
        cpu.apply()
        let model: MaskedTransformer
        var decode: ((Tensor) throws -> Void)? = nil
        if let checkpoint {
            let g = try GeneratorCheckpoint(URL(fileURLWithPath: checkpoint), device: device)
            model = try g.model
            decode = { ids in _ = try GeneratedImages.decode(ids, grid: model.config.grid, tokenizer: g.tokenizer) }
        } else {
            var config = GeneratorConfig()
            config.classes = 10; config.width = 256; config.depth = 6; config.heads = 8
            model = try MaskedTransformer(config: config, device: device)
        }
        let c = model.config
        print("masked transformer: \(model.parameterCount) parameters, \(c.generatedTokens) tokens per sample, factors \(c.factorBits), batch \(count), \(cpu.threads) threads, \(device)")
        print("steps  guidance  tokens/s  samples/s (sampling)  samples/s (with decoding)")
        let classes = c.classes > 0 ? (0..<count).map { $0 % c.classes } : nil
        _ = try model.sample(count: min(count, 8), classes: classes.map { Array($0.prefix(8)) }, options: SamplingOptions(steps: 2))  // warm-up
        for steps in steps.values {
            for guidance in c.classes > 0 ? [0.0, 1.0] : [0.0] {
                let start = now()
                let ids = try model.sample(count: count, classes: classes, options: SamplingOptions(steps: steps, guidance: guidance, seed: 1))
                try Torch.synchronize()
                let sampling = now() - start
                var withDecoding = "-"
                if let decode {
                    let t = now()
                    try decode(ids)
                    withDecoding = String(format: "%.1f", Double(count) / (sampling + now() - t))
                }
                print(String(format: "%5d  %8.1f  %8.0f  %20.1f  %25@", steps, guidance, Double(count * c.generatedTokens) / sampling,
                             Double(count) / sampling, withDecoding))
            }
        }
    }
}
