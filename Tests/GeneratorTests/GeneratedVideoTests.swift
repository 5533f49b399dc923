// An unconditional video generator scored against real clips (the objectives study's unconditional
// video cells): FVD of its samples and of the tokenizer's reconstruction, the refusals, and which
// configs may ask for it.
import Foundation
import Generator
import GeneratorModel
import Harness
import Metrics
import Tokenizer
import Torch
import XCTest

final class GeneratedVideoTests: XCTestCase {
    /// A 9-frame tiny tokenizer (the shortest clips I3D takes): 9×16×16 RGB → 5×4×4 tokens of 6 bits.
    func models(conditionFrames: Int = 0, classes: Int = 0) throws -> (MaskedTransformer, VideoTokenizer) {
        Torch.manualSeed(3)
        var t = TokenizerConfig.tiny
        t.clipFrames = 9
        let tokenizer = try VideoTokenizer(config: t)
        var g = GeneratorConfig()
        g.vocabularyBits = 6; g.factorBits = [6]; g.grid = t.latentGrid; g.conditionFrames = conditionFrames; g.classes = classes
        g.width = 32; g.depth = 1; g.heads = 2
        return (try MaskedTransformer(config: g), tokenizer)
    }

    func testScoresSamplesAndReconstructionAgainstTheClips() throws {
        let weights = I3D.defaultWeights()
        try XCTSkipUnless(FileManager.default.fileExists(atPath: weights.path), "the I3D weights (scripts/setup.sh)")
        let (model, tokenizer) = try models()
        XCTAssertEqual(model.config.grid, [5, 4, 4])
        let i3d = try I3D(weights: weights)
        let clips = try Tensor.rand([3, 3, 9, 16, 16]) * 2.0 - 1.0
        let (scores, samples) = try GeneratedVideoScores.evaluate(model: model, tokenizer: tokenizer, clips: clips, options: SamplingOptions(steps: 2, seed: 1), i3d: i3d)
        XCTAssertEqual(samples.shape, [3, 3, 9, 16, 16])
        XCTAssertEqual(scores.clips, 3)
        XCTAssertTrue(scores.fvdGenerated.isFinite && scores.fvdGenerated > 0 && scores.fvdReconstruction.isFinite, "\(scores)")
        XCTAssertEqual(Set(try scores.record().keys), ["fvd_generated", "fvd_reconstruction", "clips"])
        // The same seed draws the same samples, so the same score.
        let again = try GeneratedVideoScores.evaluate(model: model, tokenizer: tokenizer, clips: clips, options: SamplingOptions(steps: 2, seed: 1), i3d: i3d)
        XCTAssertEqual(again.scores.fvdGenerated, scores.fvdGenerated, accuracy: 1e-6 * scores.fvdGenerated)

        // Held-out clips prepared once give the same scores; prepared without an I3D they are refused.
        let heldOut = try HeldOutVideos(clips: clips, tokenizer: tokenizer, generator: model.config, i3d: i3d)
        let prepared = try GeneratedVideoScores.evaluate(model: model, tokenizer: tokenizer, heldOut: heldOut, options: SamplingOptions(steps: 2, seed: 1))
        XCTAssertEqual(prepared.scores.fvdGenerated, scores.fvdGenerated, accuracy: 1e-6 * scores.fvdGenerated)
        XCTAssertEqual(prepared.scores.fvdReconstruction, scores.fvdReconstruction, accuracy: 1e-6 * max(1, scores.fvdReconstruction))
        let noI3D = try HeldOutVideos(clips: clips, tokenizer: tokenizer, generator: model.config)
        XCTAssertThrowsError(try GeneratedVideoScores.evaluate(model: model, tokenizer: tokenizer, heldOut: noI3D, options: SamplingOptions(steps: 2))) {
            XCTAssertTrue("\($0)".contains("without an I3D"), "\($0)")
        }

        for (conditionFrames, classes) in [(1, 0), (0, 10)] {
            let (other, _) = try models(conditionFrames: conditionFrames, classes: classes)
            XCTAssertThrowsError(try GeneratedVideoScores.evaluate(model: other, tokenizer: tokenizer, clips: clips, options: SamplingOptions(steps: 2), i3d: i3d)) {
                XCTAssertTrue("\($0)".contains("no classes and no given frames"), "\($0)")
            }
        }
        XCTAssertThrowsError(try GeneratedVideoScores.evaluate(model: model, tokenizer: tokenizer, clips: clips.narrow(0, start: 0, length: 1),
                                                               options: SamplingOptions(steps: 2), i3d: i3d)) {
            XCTAssertTrue("\($0)".contains("at least 2 clips"), "\($0)")
        }
    }

    /// predictionFVD, predictionClips and data.eval are read by an unconditional video generator and
    /// by frame prediction; an image generator refuses them.
    func testWhichGeneratorsReadTheVideoScoreSettings() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-genvideo-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var video = TokenizerConfig.tiny
        video.clipFrames = 9
        var still = TokenizerConfig.tiny
        still.clipFrames = 1
        for (name, t) in [("video", video), ("still", still)] { try VideoTokenizer(config: t).save(to: folder.appendingPathComponent(name + ".safetensors")) }
        func config(_ tokenizer: String, _ more: String, clips: String = "predictionClips: 8") throws -> GeneratorTrainingConfig {
            try GeneratorTrainingConfig.parse("""
                tokenizer: \(folder.appendingPathComponent(tokenizer + ".safetensors").path)
                data: {kind: moving-digits, digits: 1}
                generator: {width: 16, depth: 1, heads: 2\(more)}
                predictionFVD: true
                \(clips)
                """)
        }
        XCTAssertTrue(try config("video", "").scoresClips)
        XCTAssertTrue(try config("video", ", conditionFrames: 1").scoresClips)
        for (clips, key) in [("predictionClips: 8", "predictionClips"), ("", "predictionFVD")] {
            XCTAssertThrowsError(try config("still", "", clips: clips)) {
                XCTAssertTrue("\($0)".contains("\(key) is read only for frame prediction") && "\($0)".contains("this run would ignore it"), "\($0)")
            }
        }
    }
}
