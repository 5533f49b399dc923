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
        try checkGenerates(model.config)
        return try evaluate(model: model, tokenizer: tokenizer, heldOut: HeldOutVideos(clips: clips, tokenizer: tokenizer, generator: model.config, i3d: i3d),
                            options: options)
    }

    /// The same against held-out clips whose references are already computed (a trainer's evaluations).
    public static func evaluate(model: any GenerativeNetwork, tokenizer: VideoTokenizer, heldOut h: HeldOutVideos,
                                options: SamplingOptions) throws -> (scores: GeneratedVideoScores, samples: Tensor) {
        try checkGenerates(model.config)
        try h.check(model.config, tokenizer: tokenizer.config)
        guard let reconstruction = h.fvdReconstruction else {
            throw GeneratorError("unconditional video scores are FVDs: the held-out clips were prepared without an I3D")
        }
        let samples = try model.decode(model.generate(count: h.count, classes: nil, options: options), tokenizer: tokenizer).to(.float32, .cpu)
        guard samples.shape == h.real.shape, let fvd = try h.fvd(samples) else {
            throw GeneratorError("generated clips \(samples.shape) do not match the held-out clips \(h.real.shape)")
        }
        return (GeneratedVideoScores(fvdGenerated: fvd, fvdReconstruction: reconstruction, clips: h.count), samples)
    }

    private static func checkGenerates(_ g: GeneratorConfig) throws {
        guard g.generatesUnconditionalVideo else {
            throw GeneratorError("unconditional video scores need a generator of several latent frames with no classes and no given frames, got grid \(g.grid), classes \(g.classes), conditionFrames \(g.conditionFrames)")
        }
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
    /// An unconditional video generator's FVD against `predictionClips` held-out clips (`predictionFVD`).
    func generatedVideoScores(log: RunLog) throws -> [String: Any] {
        guard let heldOut = try heldOutReferences() else { return [:] }
        let s = config.sampling
        let result = try GeneratedVideoScores.evaluate(model: model, tokenizer: tokenizer.model, heldOut: heldOut,
                                                       options: SamplingOptions(steps: s.steps, temperature: s.temperature, seed: config.run.seed))
        log.say(String(format: "FVD of %d generated clips against as many held-out ones (%d-frame clips, I3D logits): %.1f, the tokenizer's reconstruction %.1f",
                       result.scores.clips, heldOut.real.size(2), result.scores.fvdGenerated, result.scores.fvdReconstruction))
        return try result.scores.record()
    }
}
