// The autoregressive token model: the KV-cached incremental pass gives the full causal pass's logits,
// the pass is causal, a tiny model learns four sequences and samples them back, sampling is seeded and
// in range, and the three objectives' parameter counts agree within 5 % at the shipped size.
import GeneratorModel
import NN
import TestSupport
import Torch
import XCTest

final class AutoregressiveTransformerTests: XCTestCase {
    func tiny(classes: Int = 3) -> GeneratorConfig {
        var config = GeneratorConfig()
        config.objective = .autoregressive
        config.vocabularyBits = 6; config.factorBits = [2, 4]; config.grid = [2, 3, 3]; config.classes = classes
        config.width = 32; config.depth = 2; config.heads = 4
        return config
    }

    func testCachedIncrementalPassGivesTheFullCausalPassLogits() throws {
        for classes in [3, 0] {
            Torch.manualSeed(1)
            let model = try AutoregressiveTransformer(config: tiny(classes: classes))
            let tokens = try Tensor.randint(0, 64, [2, 18])
            let labels = classes > 0 ? try Tensor([Int64(2), 0]) : nil
            let full = try model.logits(tokens, classes: labels)
            XCTAssertEqual(full.map(\.shape), [[2, 18, 4], [2, 18, 16]])
            // Positions 0..<5 in one call (the chunk attends causally within itself), then one at a time.
            let cache = KeyValueCache(layers: 2)
            var parts = try model.logits(tokens, classes: labels, from: 0, count: 5, cache: cache).map { [$0] }
            for p in 5..<18 {
                for (i, l) in try model.logits(tokens, classes: labels, from: p, count: 1, cache: cache).enumerated() { parts[i].append(l) }
            }
            XCTAssertEqual(cache.length, 18)
            for (a, b) in zip(full, parts) { try assertClose(concatenate(b, dim: 1), a, rtol: 0, atol: 1e-5) }
            XCTAssertThrowsError(try model.logits(tokens, classes: labels, from: 3, count: 1, cache: cache)) { XCTAssertTrue("\($0)".contains("holds 18"), "\($0)") }
        }
    }

    func testPositionPSeesOnlyTheTokensBeforeIt() throws {
        Torch.manualSeed(2)
        let model = try AutoregressiveTransformer(config: tiny())
        let tokens = try Tensor.randint(0, 64, [1, 18]), labels = try Tensor([Int64(1)])
        var changed = try tokens.toArray(Int64.self)
        changed[7] = (changed[7] + 1) % 64
        let a = try model.logits(tokens, classes: labels)[1], b = try model.logits(Tensor(changed, shape: [1, 18]), classes: labels)[1]
        try assertClose(b.narrow(1, start: 0, length: 8), a.narrow(1, start: 0, length: 8), rtol: 0, atol: 1e-6)  // positions 0...7
        XCTAssertGreaterThan(try (b.narrow(1, start: 8, length: 10) - a.narrow(1, start: 8, length: 10)).abs().max().item(), 1e-4)
    }

    func testSamplesAreSeededInRangeAndGuided() throws {
        Torch.manualSeed(3)
        let model = try AutoregressiveTransformer(config: tiny())
        let options = SamplingOptions(guidance: 1.5, temperature: 0.8, topK: 3, seed: 5)
        let out = try model.sample(count: 3, classes: [0, 1, 2], options: options)
        XCTAssertEqual(out.shape, [3, 18])
        XCTAssertEqual(out.dtype, .int64)
        XCTAssertGreaterThanOrEqual(try out.min().item(), 0)
        XCTAssertLessThan(try out.max().item(), 64)
        XCTAssertEqual(try model.sample(count: 3, classes: [0, 1, 2], options: options).toArray(Int64.self), try out.toArray(Int64.self), "same seed")
        XCTAssertEqual(try model.sample(count: 3, classes: [0, 1, 2], options: options, cached: false).toArray(Int64.self), try out.toArray(Int64.self),
                       "the same draws when every position recomputes its prefix")
        XCTAssertEqual(model.networkEvaluations(options), 36, "a pass per token, two with guidance")
        let unconditional = try AutoregressiveTransformer(config: tiny(classes: 0))
        XCTAssertEqual(try unconditional.sample(count: 2, options: SamplingOptions(seed: 1)).shape, [2, 18])
        XCTAssertThrowsError(try model.sample(count: 2, classes: [0, 3])) { XCTAssertTrue("\($0)".contains("class ids in 0..<3"), "\($0)") }
        // Frame prediction: the first latent frame's 9 tokens given, read in the first pass, kept.
        var config = tiny(classes: 0)
        config.conditionFrames = 1
        let predictor = try AutoregressiveTransformer(config: config)
        let given = try Tensor.randint(0, 64, [2, 9])
        let continued = try predictor.sample(count: 2, given: given, options: SamplingOptions(topK: 4, seed: 2))
        XCTAssertEqual(continued.shape, [2, 18])
        XCTAssertEqual(try continued.narrow(1, start: 0, length: 9).toArray(Int64.self), try given.toArray(Int64.self))
        XCTAssertEqual(predictor.networkEvaluations(SamplingOptions()), 9)
        XCTAssertThrowsError(try predictor.sample(count: 2)) { XCTAssertTrue("\($0)".contains("predicts frames"), "\($0)") }
    }

    func testTinyModelLearnsFourSequencesAndSamplesThemBack() throws {
        var config = tiny(classes: 4)
        config.vocabularyBits = 4; config.factorBits = [2, 2]; config.grid = [1, 4, 4]
        config.width = 64; config.dropout = 0; config.conditionDropout = 0; config.labelSmoothing = 0
        Torch.manualSeed(3)
        let model = try AutoregressiveTransformer(config: config)
        let sequences = try Tensor.randint(0, 16, [4, 16]), classes = try Tensor([Int64(0), 1, 2, 3])
        let optimizer = AdamW(model.store.parameters, learningRate: 3e-3, weightDecay: 0)
        var losses: [Double] = []
        for _ in 0..<150 {
            try optimizer.zeroGrad()
            let l = try model.autoregressiveLoss(tokens: sequences, classes: classes)
            try l.loss.backward()
            try optimizer.update()
            losses.append(try l.loss.item())
        }
        XCTAssertLessThan(losses.last!, 0.1 * losses.first!, "loss \(losses.first!) -> \(losses.last!)")
        let out = try model.sample(count: 4, classes: [0, 1, 2, 3], options: SamplingOptions(temperature: 0.5, seed: 4))
        let same = zip(try out.toArray(Int64.self), try sequences.toArray(Int64.self)).filter { $0 == $1 }.count
        XCTAssertGreaterThanOrEqual(same, 60, "\(same) of 64 tokens reproduced")
        print(String(format: "autoregressive: loss %.3f -> %.3f in 150 steps; %d of 64 tokens sampled back", losses.first!, losses.last!, same))
    }

    /// The Fashion-MNIST generator's size (docs/generator.md): the three objectives on one backbone.
    func testObjectivesHaveTheSameParameterCountWithinFivePercent() throws {
        var config = GeneratorConfig()
        config.factorBits = [5, 5]; config.classes = 10; config.width = 256; config.depth = 4; config.heads = 8
        let masked = try GenerativeNetworks.make(config).parameterCount
        config.objective = .autoregressive
        let autoregressive = try GenerativeNetworks.make(config).parameterCount
        config.objective = .diffusion; config.latentChannels = 10
        let diffusion = try GenerativeNetworks.make(config).parameterCount
        XCTAssertEqual(autoregressive, masked, "the same modules")
        XCTAssertLessThan(abs(Double(diffusion - masked)) / Double(masked), 0.05, "masked \(masked), diffusion \(diffusion)")
        print("parameters: masked \(masked), autoregressive \(autoregressive), diffusion \(diffusion)")
    }
}
