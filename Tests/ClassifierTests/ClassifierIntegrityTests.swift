// What a classifier reads is checked against it: a label outside the classes (once a trap on a
// video's last clip), a token dataset made by another tokenizer, on another grid, or with other class
// names (swapped, more, fewer) is refused instead of scoring quietly wrong.
import Classifier
@testable import Dataset
import Foundation
import Tokenizer
import Torch
import XCTest

final class ClassifierIntegrityTests: XCTestCase {
    func testLabelOutsideTheClassesIsRefused() throws {
        let p = try Tensor([0.6, 0.1, 0.3, 0.0, 0.2, 0.8] as [Float], shape: [2, 3])
        XCTAssertThrowsError(try Classification.score(probabilities: p, labels: Tensor([0, 3] as [Int64], shape: [2]),
                                                      videos: Tensor([0, 1] as [Int64], shape: [2]), videoCount: 2, classes: 3)) {
            XCTAssertTrue("\($0)".contains("clip 1 has label 3; labels must be -1 (none) or a class in 0..<3"), "\($0)")
        }
    }

    func testTokenDatasetMustMatchTheClassifier() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-cls-integrity-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (grid, weights) = ([3, 4, 4], String(repeating: "ab", count: 32))
        let records = (0..<4).map { i in
            ClipRecord(ids: [Int32](repeating: Int32(i), count: 48), source: "/v/\(i % 2).mp4", clipIndex: 0, startFrame: 0, frames: 5, label: i % 2, fps: 25)
        }
        let sha = try ShardContents.write(records, grid: grid, tokenizerWeights: weights, to: folder.appendingPathComponent(TokenDataset.shardName(0)))
        var config = TokenizerConfig.tiny
        config.quantizer = QuantizerConfig(kind: .lfq, bits: 6)
        let index = DatasetIndex(tokenizer: .init(name: "tiny", config: config, weights: weights), bits: 6, codebookSize: 64, grid: grid, clipFrames: 5,
                                 size: [16, 16], resampleFPS: nil, shardSize: 4, shards: [.init(file: TokenDataset.shardName(0), clips: 4, sha256: sha)],
                                 clips: 4, files: 2, failures: [], classes: ["left", "right"], labels: "folders", inputsSHA256: "x")
        try JSONEncoder().encode(index).write(to: folder.appendingPathComponent(TokenDataset.indexName))
        let dataset = try TokenDataset(folder)
        func refusal(weights w: String = weights, classes: [String] = ["left", "right"], grid g: [Int] = grid) -> String {
            do {
                let examples = try ExampleMaker.tokens(dataset, maxClips: 8, tokenizer: (w, "tiny"), classNames: classes, grid: g)
                return "accepted \(examples.count) clips of \(examples.videoNames.count) videos"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(refusal(), "accepted 4 clips of 2 videos")
        for classes in [["right", "left"], ["left", "right", "up"], ["left"]] {
            XCTAssertTrue(refusal(classes: classes).contains("its classes [\"left\", \"right\"] are not the classifier's"), refusal(classes: classes))
        }
        XCTAssertTrue(refusal(weights: String(repeating: "cd", count: 32)).contains("was tokenized by 'tiny'"), refusal(weights: "cd"))
        XCTAssertTrue(refusal(grid: [5, 4, 4]).contains("holds clips of [3, 4, 4] tokens; the classifier reads [5, 4, 4]"), refusal(grid: [5, 4, 4]))
    }
}
