// Unconditional video generation scored against real clips: FVD (I3D logits) of as many generated
// clips as held-out real ones, beside the FVD of the tokenizer's reconstruction of those clips (what
// a perfect generator of its tokens would reach). The objectives study's unconditional video cells.
import Foundation
import GeneratorModel
import Harness
import Metrics
import Tokenizer
import Torch

public struct GeneratedVideoScores: Codable, Equatable, Sendable, LogRecord {
    public var fvdGenerated: Double
    public var fvdReconstruction: Double
    public var clips: Int

    enum CodingKeys: String, CodingKey {
        case fvdGenerated = "fvd_generated", fvdReconstruction = "fvd_reconstruction", clips
    }

    /// Samples as many clips as `clips` (N, C, T, H, W) in [-1, 1] holds (N ≥ 2) from an
    /// unconditional video generator and scores them; the decoded samples come back beside.
    public static func evaluate(model: any GenerativeNetwork, tokenizer: VideoTokenizer, clips: Tensor, options: SamplingOptions,
                                i3d: I3D) throws -> (scores: GeneratedVideoScores, samples: Tensor) {
        let g = model.config, n = clips.size(0)
        guard g.generatesUnconditionalVideo else {
            throw GeneratorError("unconditional video scores need a generator of several latent frames with no classes and no given frames, got grid \(g.grid), classes \(g.classes), conditionFrames \(g.conditionFrames)")
        }
        guard n >= 2 else { throw GeneratorError("FVD needs at least 2 clips, got \(n)") }
        let real = try clips.to(.float32, .cpu)
        let ids = try tokenizer.encode(clips.to(tokenizer.device)).reshape([n, -1])
        let reconstruction = try GenerativeNetworks.decodeTokens(ids, grid: g.grid, tokenizer: tokenizer)
        let samples = try model.decode(model.generate(count: n, classes: nil, options: options), tokenizer: tokenizer).to(.float32, .cpu)
        guard samples.shape == real.shape else {
            throw GeneratorError("generated clips \(samples.shape) do not match the held-out clips \(real.shape)")
        }
        let reference = try i3d.statistics(real)
        let scores = GeneratedVideoScores(fvdGenerated: try FrechetDistance.distance(reference, i3d.statistics(samples)),
                                          fvdReconstruction: try FrechetDistance.distance(reference, i3d.statistics(reconstruction)),
                                          clips: n)
        return (scores, samples)
    }
}

extension I3D {
    /// Statistics of the I3D logits of clips (N, C, T, H, W) in [-1, 1], eight at a time.
    func statistics(_ clips: Tensor) throws -> FeatureStatistics {
        var s = try FeatureStatistics(dimension: I3D.classCount)
        let n = clips.size(0)
        for start in stride(from: 0, to: n, by: 8) { try s.add(features((clips.narrow(0, start: start, length: Swift.min(8, n - start)) + 1.0) / 2.0)) }
        return s
    }
}

/// Scores that go into the training log as a JSON object (keys as encoded; nil values left out).
public protocol LogRecord: Encodable {}

extension LogRecord {
    public func record() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as? [String: Any] ?? [:]
    }
}

extension GeneratorTrainer {
    /// The FVD network, loaded at the first evaluation that needs it.
    func fvdNetwork() throws -> I3D {
        if let i3d { return i3d }
        let network = try I3D(weights: I3D.defaultWeights(), device: device)
        i3d = network
        return network
    }

    /// An unconditional video generator's FVD against `predictionClips` held-out clips (`predictionFVD`).
    func generatedVideoScores(log: RunLog) throws -> [String: Any] {
        guard let clips = heldOutClips else { return [:] }
        let s = config.sampling
        let result = try GeneratedVideoScores.evaluate(model: model, tokenizer: tokenizer.model, clips: clips,
                                                       options: SamplingOptions(steps: s.steps, temperature: s.temperature, seed: config.run.seed), i3d: fvdNetwork())
        log.say(String(format: "FVD of %d generated clips against as many held-out ones (%d-frame clips, I3D logits): %.1f, the tokenizer's reconstruction %.1f",
                       result.scores.clips, clips.size(2), result.scores.fvdGenerated, result.scores.fvdReconstruction))
        return try result.scores.record()
    }
}
