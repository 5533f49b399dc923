// A test-only data source, written in this one file: images of smooth colour gradients, registered
// under its own kind and trained on through the ordinary config and TokenizerTrainer.
import Dataset
import Foundation
import Harness
import TestSupport
import Torch
import TokenizerTraining
import XCTest

/// Random linear gradients (direction and two colours from (seed, step)); held out: 8 fixed ones.
final class GradientSource: ClipSource {
    let shape: ClipShape
    let seed: UInt64

    init(config: DataConfig, shape: ClipShape, seed: UInt64) throws {
        self.shape = shape
        self.seed = seed
    }

    var summary: String { "gradients: synthetic" }
    var count: Int? { nil }
    var classes: Int { 0 }

    func batch(step: Int, size: Int) throws -> Clips {
        var random = SeededRandom(seed: seed, step: step)
        return Clips(clips: try stacked((0..<size).map { _ in try gradient(&random) }))
    }

    func heldOut(limit: Int) throws -> Clips? {
        var random = SeededRandom(seed: seed, step: -1, stream: 5)
        return Clips(clips: try stacked((0..<Swift.min(limit, 8)).map { _ in try gradient(&random) }))
    }

    /// (C, T, S, S) in [-1, 1].
    func gradient(_ random: inout SeededRandom) throws -> Tensor {
        let s = shape.size
        let (a, b) = (random.uniform() * 2 - 1, random.uniform() * 2 - 1)
        let ramp = try Tensor.arange(0, Double(s)) / Double(s - 1)  // (S)
        let plane = try (ramp.unsqueeze(1) * a + ramp.unsqueeze(0) * b) / 2  // (S, S) in [-1, 1]
        return try plane.reshape([1, 1, s, s]).expand([shape.channels, shape.frames, s, s]).contiguous()
    }
}

final class GradientSourceTests: XCTestCase {
    func testANewSourceNeedsOnlyItsOwnFile() throws {
        DataSources.register("test-gradients", images: true) { try GradientSource(config: $0, shape: $1, seed: $2) }
        XCTAssertTrue(DataSources.kinds.contains("test-gradients"))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-gradients-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try TokenizerTrainingConfig.parse("""
            model: {preset: image-small, baseChannels: 8, quantizer: {bits: 6}}
            data: {kind: test-gradients, evalSamples: 4}
            optimizer: {learningRate: 0.003, warmupSteps: 3}
            run: {steps: 30, batch: 4, logEvery: 1, evalEvery: 15, checkpointEvery: 15, emaDecay: 0, threads: 1}
            """)
        let scores = try XCTUnwrap(try TokenizerTrainer(config: config, directory: folder, resume: false, perceptual: nil, echo: { _ in }).train())
        XCTAssertEqual(scores.samples, 4)
        let loss = try records(folder).filter { $0["kind"] == nil }.map { $0["reconstruction"] as! Double }
        XCTAssertEqual(loss.count, 30)
        XCTAssertLessThan(loss.suffix(5).reduce(0, +), 0.7 * loss.prefix(5).reduce(0, +), "\(loss)")
        // The registry's checks apply to it like to a built-in source.
        XCTAssertThrowsError(try TokenizerTrainingConfig.parse("model: {preset: tiny}\ndata: {kind: test-gradients}")) {
            XCTAssertTrue("\($0)".contains("1-frame"), "\($0)")
        }
        XCTAssertThrowsError(try TokenizerTrainingConfig.parse("data: {kind: test-gradient}")) {
            // The list holds the built-in kinds and every registered one (other tests register theirs in this process).
            let message = "\($0)"
            XCTAssertTrue(message.contains("data.kind 'test-gradient' is not a data source; sources: fashion-mnist, images, mixture, mnist, moving-digits, photo-pans, "), message)
            XCTAssertTrue(message.contains("test-gradients") && message.hasSuffix("videos"), message)
        }
    }
}
