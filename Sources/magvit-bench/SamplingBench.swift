// `magvit-bench sampling`: generator decoding speed on this machine, tokens/s and images/s for each
// step count, guidance off and on (guidance doubles the transformer passes). With --checkpoint the
// trained generator is timed with its tokenizer's decoding included in images/s; without, an
// untrained model of the Fashion-MNIST generator's size (configs/fashion-mnist-generator.yaml).
import Foundation
import Generator
import Torch

func runSamplingBench(_ arguments: [String]) throws {
    var checkpoint: String?
    var count = 100, threads = 2
    var stepCounts = [8, 12, 24]
    var deviceName = "cpu"
    var rest = ArgumentList(arguments)
    while let flag = rest.next() {
        switch flag {
        case "--checkpoint": checkpoint = try rest.value(flag)
        case "--count": count = try rest.integer(flag)
        case "--threads": threads = try rest.integer(flag)
        case "--steps": stepCounts = try rest.value(flag).split(separator: ",").map { guard let n = Int($0), n > 0 else { throw BenchError("--steps takes positive integers like 8,12,24") }; return n }
        case "--device": deviceName = try rest.value(flag)
        default: throw BenchError("unknown option '\(flag)'; usage: magvit-bench sampling [--checkpoint G] [--count N] [--steps 8,12,24] [--threads N] [--device cpu|cuda]")
        }
    }
    let device = try Device(parsing: deviceName)
    Torch.threads = threads
    let model: MaskedTransformer
    var decode: ((Tensor) throws -> Void)? = nil
    if let checkpoint {
        let g = try GeneratorCheckpoint(URL(fileURLWithPath: checkpoint), device: device)
        model = g.model
        decode = { ids in _ = try GeneratedImages.decode(ids, grid: g.model.config.grid, tokenizer: g.tokenizer) }
    } else {
        var config = GeneratorConfig()
        config.classes = 10; config.width = 256; config.depth = 6; config.heads = 8
        model = try MaskedTransformer(config: config, device: device)
    }
    let c = model.config
    print("masked transformer: \(model.parameterCount) parameters, \(c.generatedTokens) tokens per sample, factors \(c.factorBits), batch \(count), \(threads) threads, \(device)")
    print("steps  guidance  tokens/s  samples/s (sampling)  samples/s (with decoding)")
    let classes = c.classes > 0 ? (0..<count).map { $0 % c.classes } : nil
    _ = try model.sample(count: min(count, 8), classes: classes.map { Array($0.prefix(8)) }, options: SamplingOptions(steps: 2))  // warm-up
    for steps in stepCounts {
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
