// The latent diffusion transformer: one solver step is one Euler step by hand, a tiny model's
// flow-matching loss falls, the latents' statistics are fitted, and samples decode through a tokenizer
// to frames of the right shape and range.
import GeneratorModel
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

final class LatentDiffusionTransformerTests: XCTestCase {
    func tiny(classes: Int = 3) -> GeneratorConfig {
        var config = GeneratorConfig()
        config.objective = .diffusion
        config.latentChannels = 6; config.vocabularyBits = 6; config.factorBits = [6]; config.grid = [1, 4, 4]; config.classes = classes
        config.width = 32; config.depth = 2; config.heads = 4
        return config
    }

    func testOneSolverStepIsOneEulerStepByHand() throws {
        Torch.manualSeed(1)
        let model = try LatentDiffusionTransformer(config: tiny())
        // Statistics away from (0, 1), so that the test also sees the normalisation undone.
        try model.fit(trainingSet: Tensor.randn([50, 16, 6]) * 3.0 + 2.0)
        for guidance in [0.0, 2.0] {
            let out = try model.sample(count: 2, classes: [0, 2], options: SamplingOptions(steps: 1, guidance: guidance, seed: 7))
            Torch.manualSeed(7)
            let noise = try Tensor.randn([2, 16, 6])
            let ones = try Tensor.ones([2])
            var v = try model.velocity(noise, t: ones, classes: Tensor([Int64(0), 2]))
            if guidance != 0 { v = try MaskedTransformer.guided(v, model.velocity(noise, t: ones, classes: Tensor([Int64(3), 3])), scale: guidance) }
            let snapshot = try model.store.snapshot()
            let (mean, std) = (try XCTUnwrap(snapshot["latent_mean"]), try XCTUnwrap(snapshot["latent_std"]))
            try assertClose(out, (noise - v) * std + mean, rtol: 0, atol: 1e-5)  // x(0) = x(1) − 1·v(x(1), 1), in the tokenizer's units
        }
        XCTAssertEqual(model.networkEvaluations(SamplingOptions(steps: 10, guidance: 2)), 20)
        XCTAssertThrowsError(try model.sample(count: 1, classes: [0], options: SamplingOptions(topK: 5))) { XCTAssertTrue("\($0)".contains("token models"), "\($0)") }
    }

    func testFramePredictionKeepsTheGivenLatents() throws {
        var config = tiny(classes: 0)
        config.grid = [2, 2, 2]; config.conditionFrames = 1
        Torch.manualSeed(4)
        let model = try LatentDiffusionTransformer(config: config)
        let latents = try Tensor.randn([2, 8, 6]) * 2.0
        try model.fit(trainingSet: latents)
        XCTAssertTrue(try model.flowMatchingLoss(latents: latents).item().isFinite)
        let given = try latents.narrow(1, start: 0, length: 4)
        let out = try model.sample(count: 2, given: given, options: SamplingOptions(steps: 4, seed: 3))
        try assertClose(out.narrow(1, start: 0, length: 4), given, rtol: 0, atol: 1e-5)
        XCTAssertGreaterThan(try (out.narrow(1, start: 4, length: 4) - latents.narrow(1, start: 4, length: 4)).abs().max().item(), 1e-3)
    }

    func testFitSetsTheLatentStatistics() throws {
        Torch.manualSeed(5)
        let model = try LatentDiffusionTransformer(config: tiny())
        let z = try Tensor.randn([400, 16, 6]) * Tensor([Float(1), 2, 3, 4, 5, 6]) + 1.0
        try model.fit(trainingSet: z)
        let s = try model.store.snapshot()
        try assertClose(s["latent_mean"]!, Tensor.ones([6]), rtol: 0, atol: 0.25)  // 6,400 draws: standard errors up to 0.075
        try assertClose(s["latent_std"]!, Tensor([Float(1), 2, 3, 4, 5, 6]), rtol: 0.03, atol: 0)
    }

    func testTinyModelLossFalls() throws {
        var config = tiny(classes: 2)
        config.dropout = 0
        Torch.manualSeed(3)
        let model = try LatentDiffusionTransformer(config: config)
        // Two classes, each one fixed latent: the velocity field becomes easy to learn.
        let latents = try Tensor.randn([2, 16, 6]).repeated([8, 1, 1]), classes = try Tensor([Int64(0), 1]).repeated([8])
        try model.fit(trainingSet: latents)
        let optimizer = AdamW(model.store.parameters, learningRate: 3e-3, weightDecay: 0)
        var losses: [Double] = []
        for _ in 0..<300 {
            try optimizer.zeroGrad()
            let loss = try model.flowMatchingLoss(latents: latents, classes: classes)
            try loss.backward()
            try optimizer.update()
            losses.append(try loss.item())
        }
        let (first, last) = (losses.prefix(10).reduce(0, +) / 10, losses.suffix(10).reduce(0, +) / 10)
        XCTAssertLessThan(last, 0.5 * first, "loss \(first) -> \(last)")
        print(String(format: "flow matching: loss %.3f over the first 10 steps, %.3f over the last 10", first, last))
        // Sampled with 20 steps, a class's sample lands near its latent.
        let out = try model.sample(count: 2, classes: [0, 1], options: SamplingOptions(steps: 20, seed: 1))
        let target = try latents.narrow(0, start: 0, length: 2)  // classes 0 and 1
        let error = try (out - target).pow(2).mean().item(), spread = try target.pow(2).mean().item()
        XCTAssertLessThan(error, 0.5 * spread, "sample error \(error) vs the latents' power \(spread)")
        print(String(format: "20-step samples: mean squared error %.3f against the class's latent (its mean square %.3f)", error, spread))
    }

    /// Through an LFQ tokenizer and a VQ one whose codes are 4 channels wide.
    func testSamplesDecodeThroughTheTokenizer() throws {
        for (kind, channels) in [(QuantizerKind.lfq, 6), (.vq, 4)] {
            var t = TokenizerConfig.presets["image-small"]!
            t.baseChannels = 8
            t.quantizer = QuantizerConfig(kind: kind, bits: 6)
            if kind == .vq { t.quantizer.vq.latentChannels = channels }
            Torch.manualSeed(2)
            let tokenizer = try VideoTokenizer(config: t)
            var config = tiny(classes: 0)
            config.latentChannels = t.quantizer.latentChannels
            config.grid = [1, t.resolution / t.spatialFactor, t.resolution / t.spatialFactor]
            let model = try LatentDiffusionTransformer(config: config)
            let clips = try Tensor.rand([3, t.imageChannels, 1, t.resolution, t.resolution]) * 2.0 - 1.0
            let latents = try model.trainingExamples(clips, tokenizer: tokenizer)
            XCTAssertEqual(latents.shape, [3, config.tokensPerExample, channels], "\(kind)")
            try model.fit(trainingSet: latents)
            let out = try model.sample(count: 2, options: SamplingOptions(steps: 3, seed: 2))
            XCTAssertEqual(out.shape, [2, config.tokensPerExample, channels])
            let frames = try model.decode(out, tokenizer: tokenizer)
            XCTAssertEqual(frames.shape, [2, t.imageChannels, 1, t.resolution, t.resolution])
            XCTAssertLessThanOrEqual(try frames.abs().max().item(), 1)
            XCTAssertEqual(try frames.isNaN().sum().item(), 0)
        }
    }
}
