// `magvit-bench sampling`: generator decoding speed on this machine, tokens/s and images/s for each
// step count, guidance off and on (guidance doubles the transformer passes), with the network
// evaluations per sample. With --checkpoint the trained generator is timed with its tokenizer's
// decoding included in images/s; without, an untrained model of the Fashion-MNIST generator's size
// (configs/fashion-mnist-generator.yaml) with --objective. An autoregressive model decodes one token
// per step (the step counts do not apply) and is also timed without its KV cache.
import ArgumentParser
import Foundation
import GeneratorModel
import Harness
import Torch

struct SamplingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sampling", abstract: "Generator decoding speed, tokens/s and images/s per step count.")

    @Option(help: "A trained generator checkpoint (default: an untrained model of the Fashion-MNIST generator's size).")
    var checkpoint: String?
    @Option(help: "The untrained model's objective: masked, autoregressive or diffusion.") var objective = "masked"
    @Option(help: "Samples per batch.") var count = 100
    @Option(help: "Step counts to time.") var steps = IntegerList([8, 12, 24])
    @OptionGroup var cpu: ThreadsOption
    @OptionGroup var device: DeviceOption

    func validate() throws { try requirePositive(["--count": count]) }

    func run() throws {
        let device = try self.device.resolved()
        cpu.apply()
        let model: any GenerativeNetwork
        var decode: ((Tensor) throws -> Void)? = nil
        if let checkpoint {
            let g = try GeneratorCheckpoint(URL(fileURLWithPath: checkpoint), device: device)
            model = g.network
            decode = { samples in _ = try model.decode(samples, tokenizer: g.tokenizer) }
        } else {
            var config = GeneratorConfig()
            config.objective = try GeneratorObjective(parsing: objective, setting: "--objective")
            config.classes = 10; config.width = 256; config.depth = 6; config.heads = 8
            if config.objective == .diffusion { config.latentChannels = config.vocabularyBits }
            model = try GenerativeNetworks.make(config, device: device)
        }
        let c = model.config
        let autoregressive = model as? AutoregressiveTransformer
        print("\(c.objective.rawValue) generator: \(model.parameterCount) parameters, \(c.generatedTokens) tokens per sample, batch \(count), \(cpu.threads) threads, \(device)")
        print("steps  guidance  evaluations  tokens/s  samples/s (sampling)  samples/s (with decoding)")
        let classes = c.classes > 0 ? (0..<count).map { $0 % c.classes } : nil
        _ = try model.generate(count: min(count, 8), classes: classes.map { Array($0.prefix(8)) }, options: SamplingOptions(steps: 2))  // warm-up
        func time(_ label: String, _ options: SamplingOptions, cached: Bool = true) throws {
            let start = now()
            let samples = cached ? try model.generate(count: count, classes: classes, options: options)
                                 : try autoregressive!.sample(count: count, classes: classes, options: options, cached: false)
            try Torch.synchronize()
            let sampling = now() - start
            var withDecoding = "-"
            if let decode {
                let t = now()
                try decode(samples)
                withDecoding = String(format: "%.1f", Double(count) / (sampling + now() - t))
            }
            print(String(format: "%5@  %8.1f  %11d  %8.0f  %20.1f  %25@", label, options.guidance, model.networkEvaluations(options),
                         Double(count * c.generatedTokens) / sampling, Double(count) / sampling, withDecoding))
        }
        for guidance in c.classes > 0 ? [0.0, 1.0] : [0.0] {
            if autoregressive != nil {
                try time("N", SamplingOptions(guidance: guidance, seed: 1))
                try time("N, no KV cache", SamplingOptions(guidance: guidance, seed: 1), cached: false)
            } else {
                for steps in steps.values { try time("\(steps)", SamplingOptions(steps: steps, guidance: guidance, seed: 1)) }
            }
        }
    }
}
