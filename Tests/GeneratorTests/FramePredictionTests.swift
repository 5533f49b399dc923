// Frame prediction scoring with an untrained tiny tokenizer and generator: shapes, the given frames,
// the log keys, the copy baseline's and the reconstruction's PSNR, and refused inputs; `magvit predict`
// with an untrained generator file.
import Foundation
import Generator
import GeneratorModel
import Media
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

final class FramePredictionTests: XCTestCase {
    func model(conditionFrames: Int) throws -> (MaskedTransformer, VideoTokenizer) {
        Torch.manualSeed(3)
        let tokenizer = try VideoTokenizer(config: .tiny)  // 5×16×16 RGB → 3×4×4 tokens of 6 bits
        var g = GeneratorConfig()
        g.vocabularyBits = 6; g.factorBits = [6]; g.grid = [3, 4, 4]; g.conditionFrames = conditionFrames
        g.width = 32; g.depth = 1; g.heads = 2
        return (try MaskedTransformer(config: g), tokenizer)
    }

    func testScoresShapesAndRecordKeys() throws {
        let (model, tokenizer) = try model(conditionFrames: 1)
        // Still clips: copying the last given frame is exact, so its PSNR is the 100 dB cap.
        let still = try (Tensor.rand([3, 3, 1, 16, 16]) * 2.0 - 1.0).expand([3, 3, 5, 16, 16]).contiguous()
        let p = try FramePrediction.evaluate(model: model, tokenizer: tokenizer, clips: still, options: SamplingOptions(steps: 2, seed: 1))
        XCTAssertEqual(p.scores.givenFrames, 1)
        XCTAssertEqual(p.scores.clips, 3)
        for x in [p.real, p.reconstruction, p.prediction] { XCTAssertEqual(x.shape, [3, 3, 5, 16, 16]) }
        XCTAssertEqual(p.framePSNR.predicted.count, 4)
        XCTAssertEqual(p.scores.psnrCopyLastFrame, 100, accuracy: 1e-6)
        XCTAssertEqual(p.scores.psnrPredicted, p.framePSNR.predicted.reduce(0, +) / 4, accuracy: 1e-9)
        XCTAssertTrue(p.scores.psnrPredicted.isFinite && p.scores.psnrReconstruction.isFinite)
        XCTAssertEqual(Set(try p.scores.record().keys), ["psnr_predicted", "psnr_reconstruction", "psnr_copy_last_frame", "clips", "given_frames"])
        let grid = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-prediction-\(UUID().uuidString.prefix(8)).png")
        defer { try? FileManager.default.removeItem(at: grid) }
        try p.writeGrid(clips: 2, to: grid)
        XCTAssertTrue(FileManager.default.fileExists(atPath: grid.path))
    }

    /// Scores on held-out clips prepared once (a trainer's evaluations) are those of the clips
    /// themselves; clips prepared for another number of given frames are refused.
    func testPreparedHeldOutClipsScoreTheSame() throws {
        let (model, tokenizer) = try model(conditionFrames: 1)
        let clips = try Tensor.rand([3, 3, 5, 16, 16]) * 2.0 - 1.0
        let options = SamplingOptions(steps: 2, seed: 1)
        let direct = try FramePrediction.evaluate(model: model, tokenizer: tokenizer, clips: clips, options: options)
        let heldOut = try HeldOutVideos(clips: clips, tokenizer: tokenizer, generator: model.config)
        XCTAssertNotNil(heldOut.copyLastFrame)
        XCTAssertEqual(heldOut.givenFrames, 1)
        for _ in 0..<2 {
            let prepared = try FramePrediction.evaluate(model: model, tokenizer: tokenizer, heldOut: heldOut, options: options)
            XCTAssertEqual(prepared.scores, direct.scores)
        }
        let (unconditional, _) = try self.model(conditionFrames: 0)
        let other = try HeldOutVideos(clips: clips, tokenizer: tokenizer, generator: unconditional.config)
        XCTAssertNil(other.copyLastFrame)
        XCTAssertThrowsError(try FramePrediction.evaluate(model: model, tokenizer: tokenizer, heldOut: other, options: options)) {
            XCTAssertTrue("\($0)".contains("prepared for grid [3, 4, 4] with 0 given frames"), "\($0)")
        }
    }

    func testRefusedInputs() throws {
        let (model, tokenizer) = try model(conditionFrames: 1)
        let options = SamplingOptions(steps: 2)
        XCTAssertThrowsError(try FramePrediction.evaluate(model: model, tokenizer: tokenizer, clips: Tensor.zeros([1, 3, 4, 16, 16]), options: options)) {
            XCTAssertTrue("\($0)".contains("(N, 3, 5, 16, 16)"), "\($0)")
        }
        let (unconditional, _) = try self.model(conditionFrames: 0)
        XCTAssertThrowsError(try FramePrediction.evaluate(model: unconditional, tokenizer: tokenizer, clips: Tensor.zeros([1, 3, 5, 16, 16]), options: options)) {
            XCTAssertTrue("\($0)".contains("conditionFrames > 0"), "\($0)")
        }
    }

    func testPredictCommand() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-predict-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // An untrained generator file as train-generator writes it, on the tiny tokenizer.
        let (model, tokenizer) = try model(conditionFrames: 1)
        try tokenizer.save(to: URL(fileURLWithPath: path("tokenizer.safetensors")))
        let generator = folder.appendingPathComponent("generator.safetensors")
        try SafeTensors.write(model.store.snapshot(), metadata: [
            "magvit.format": "generator-v1", "generator_config": String(decoding: JSONEncoder().encode(model.config), as: UTF8.self),
            "tokenizer": path("tokenizer.safetensors"), "tokenizer_hash": try tokenizer.weightsHash(),
        ], to: generator)
        let writer = try VideoWriter(path: path("clip.y4m"), width: 16, height: 16)
        try writer.write(Tensor.rand([6, 16, 16, 3]))
        try writer.finish()
        var r = try magvit(["predict", path("clip.y4m"), "-o", path("out.y4m"), "--checkpoint", generator.path, "--steps", "2", "--json", path("scores.json")])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("PSNR copy-last-frame"), r.output)
        let scores = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("scores.json")))) as? [String: Any])
        XCTAssertEqual(scores["given_frames"] as? Int, 1)
        XCTAssertEqual((scores["psnr"] as? [Double])?.count, 4)
        XCTAssertEqual(try VideoReader(path: path("out.y4m")).readAll()?.size(0), 5)
        let short = try VideoWriter(path: path("short.y4m"), width: 16, height: 16)
        try short.write(Tensor.rand([3, 16, 16, 3]))
        try short.finish()
        r = try magvit(["predict", path("short.y4m"), "-o", path("out2.y4m"), "--checkpoint", generator.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("needs at least 5 frames"), r.output)
    }
}
