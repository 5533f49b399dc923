// The Inception Score formula against scipy (scripts/fixtures/is_fixtures.py), its exact values on
// one-hot predictions, and the logits layer file.
import Foundation
import Metrics
import NN
import TestSupport
import Torch
import XCTest

final class InceptionScoreTests: XCTestCase {
    func testMatchesScipyFormula() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/inception-score", withExtension: "safetensors"), "run scripts/make-fixtures.sh is")
        let f = try SafeTensors.read(url).tensors
        for splits in [1, 10] {  // 103 predictions: the 10 parts are 10 or 11 rows long
            let (mean, std) = try InceptionScore.score(probabilities: f["is_probabilities"]!, splits: splits)
            let expected = try f["is_splits\(splits)"]!.toArray(Double.self)
            XCTAssertEqual(mean, expected[0], accuracy: 1e-9 * expected[0], "splits \(splits)")
            XCTAssertEqual(std, expected[1], accuracy: 1e-9 * max(expected[1], 1))
        }
    }

    func testExactValuesOnOneHotPredictions() throws {
        // Confident and spread evenly over K classes: K. All the same prediction: 1.
        let k = 7
        let identity = (0..<k * k).map { Float($0 / k == $0 % k ? 1 : 0) }
        let spread = try Tensor(identity, shape: [k, k]).repeated([3, 1])  // 21 rows, each class 3 times
        XCTAssertEqual(try InceptionScore.score(probabilities: spread, splits: 1).mean, Double(k), accuracy: 1e-9)
        let same = try Tensor.full([12, k], 1.0 / Double(k))
        let (mean, std) = try InceptionScore.score(probabilities: same, splits: 3)
        XCTAssertEqual(mean, 1, accuracy: 1e-12)
        XCTAssertEqual(std, 0, accuracy: 1e-12)
        XCTAssertThrowsError(try InceptionScore.score(probabilities: same, splits: 13)) { XCTAssertTrue("\($0)".contains("N ≥ splits"), "\($0)") }
    }

    func testLogitsLayerFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-is-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("head.safetensors"), bad = folder.appendingPathComponent("bad.safetensors")
        try SafeTensors.write(["weight": Tensor.randn([1008, 2048]) * 0.01, "bias": Tensor.zeros([1008])], metadata: ["network": "inception-v3-logits"], to: good)
        try SafeTensors.write(["weight": Tensor.randn([1008, 1000]), "bias": Tensor.zeros([1008])], metadata: ["network": "inception-v3-logits"], to: bad)
        let head = try InceptionLogits(weights: good)
        let p = try head.probabilities(Tensor.rand([4, 2048]))
        XCTAssertEqual(p.shape, [4, 1008])
        try assertClose(p.sum(dim: 1), Tensor.ones([4]), rtol: 0, atol: 1e-5, "rows are distributions")
        XCTAssertThrowsError(try InceptionLogits(weights: bad)) { XCTAssertTrue("\($0)".contains("(K, 2048)"), "\($0)") }
        XCTAssertThrowsError(try InceptionLogits(weights: folder.appendingPathComponent("none.safetensors"))) {
            XCTAssertTrue("\($0)".contains("convert-weights.py inception-logits"), "\($0)")
        }
    }
}
