// Sharded data (issue 36): a rank makes only its rows of the global batch, and they equal the same
// rows of the whole batch one process makes, for every kind of source: image sets, image folders,
// videos, moving digits, photo pans, mixtures (with an unsharded part too), still images beside
// clips, and the example numbers of token and example sets.
@testable import Dataset
import Foundation
import Harness
import Media
import NN
import TestSupport
import Torch
import TokenizerTraining
import XCTest

/// A source that draws the whole batch from one stream (as sources did before sharding): it is not
/// sharded, so its rows come from the whole batch.
private final class WholeBatchSource: ClipSource {
    let seed: UInt64
    let shape: ClipShape
    init(config: DataConfig, shape: ClipShape, seed: UInt64) { (self.seed, self.shape) = (seed, shape) }
    var summary: String { "whole batches" }
    var count: Int? { nil }
    var classes: Int { 0 }
    func batch(step: Int, size: Int) throws -> Clips {
        var random = SeededRandom(seed: seed, step: step)
        let dims = [size, shape.channels, shape.frames, shape.size, shape.size]
        let values = (0..<dims.reduce(1, *)).map { _ in Float(random.uniform() * 2 - 1) }
        return Clips(clips: try Tensor(values, shape: dims))
    }
    func heldOut(limit: Int) throws -> Clips? { nil }
}

final class ShardedDataTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-shards-\(getpid())-\(UUID().uuidString.prefix(8))")
        try SyntheticData.writeIDX(to: folder.appendingPathComponent("idx"), train: 40, test: 8)
        for (name, w, h) in [("photos/a.png", 120, 90), ("photos/b.png", 64, 80), ("images/x/1.png", 20, 20), ("images/y/2.png", 24, 18)] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(name).deletingLastPathComponent(), withIntermediateDirectories: true)
            try PNG.write(Tensor.rand([h, w, 3]), to: folder.appendingPathComponent(name))
        }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("videos"), withIntermediateDirectories: true)
        for (name, frames) in [("a", 12), ("b", 30)] {
            let video = try (Tensor.rand([frames, 40, 48, 3]) * 255).round().to(.uint8)
            try FrameFile.save(video, source: name, to: folder.appendingPathComponent("videos/\(name).safetensors").path)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func data(_ section: String, model: String = "{preset: tiny, resolution: 32}") throws -> TokenizerTrainingConfig {
        try TokenizerTrainingConfig.parse("model: \(model)\ndata: \(section)\nrun: {seed: 11}")
    }

    /// For W = 2, 3, 4 and every rank, the rank's rows made alone equal those rows of the whole batch.
    func assertShards(_ source: any ClipSource, size: Int = 12, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        if !(source is MixedSource || source is WholeBatchSource) {
            XCTAssert(source is ShardedClipSource, "\(what) makes only a rank's rows", file: file, line: line)
        }
        for step in [0, 7] {
            let whole = try source.batch(step: step, size: size)
            XCTAssertEqual(whole.count, size, what, file: file, line: line)
            for worldSize in [2, 3, 4] {
                for rank in 0..<worldSize {
                    let rows = Array(DataParallel.rows(of: size, rank: rank, worldSize: worldSize))
                    let mine = try source.batch(step: step, size: size, rows: rows), expected = try whole.rows(rows)
                    let at = "\(what): step \(step), rank \(rank) of \(worldSize)"
                    XCTAssertEqual(mine.clips.shape, expected.clips.shape, at, file: file, line: line)
                    XCTAssertEqual(try mine.clips.toArray(Float.self), try expected.clips.toArray(Float.self), at, file: file, line: line)
                    XCTAssertEqual(try mine.labels?.toArray(Int64.self), try expected.labels?.toArray(Int64.self), at, file: file, line: line)
                }
            }
        }
    }

    func testEachRanksRowsEqualThoseOfTheWholeBatchForEveryKindOfSource() throws {
        let still = ClipShape(channels: 3, frames: 1, size: 32)
        var c = try data("{kind: fashion-mnist, train: [\(path("idx"))], flip: true}", model: "{preset: image-small}")
        try assertShards(DataSources.make(c.data, shape: still, seed: 11), "fashion-mnist")
        c = try data("{kind: images, train: [\(path("images"))], flip: true}", model: "{preset: image-small}")
        let images = try DataSources.make(c.data, shape: still, seed: 11)
        XCTAssertEqual(images.classes, 2)
        try assertShards(images, "image folder")
        c = try data("{kind: videos, train: [\(path("videos"))], frameStrides: [1, 2], cropScale: [1, 1.5], flip: true}")
        try assertShards(DataSources.make(c.data, shape: c.model.clipShape, seed: 11), "videos")
        c = try data("{kind: moving-digits, train: [\(path("idx"))], digits: 2}")
        try assertShards(DataSources.make(c.data, shape: c.model.clipShape, seed: 11), "moving digits")
        c = try data("{kind: photo-pans, train: [\(path("photos"))], flip: true}")
        try assertShards(DataSources.make(c.data, shape: c.model.clipShape, seed: 11), "photo pans")
        c = try data("""
            {kind: mixture, sources: [{kind: videos, train: [\(path("videos"))], weight: 2}, {kind: photo-pans, train: [\(path("photos"))]},
              {kind: moving-digits, train: [\(path("idx"))]}]}
            """)
        let mixture = try DataSources.make(c.data, shape: c.model.clipShape, seed: 11)
        XCTAssertEqual((mixture as? MixedSource)?.counts(step: 0, size: 12).filter { $0 > 0 }.count, 3, "every part is in the batch")
        try assertShards(mixture, size: 16, "mixture")
    }

    /// The still images trained beside clips: a mixture of image sets and pans as 1-frame clips.
    func testStillImagesBesideClipsAreShardedToo() throws {
        let c = try data("""
            {kind: moving-digits, train: [\(path("idx"))], imageBatch: 8,
              images: [{kind: fashion-mnist, train: [\(path("idx"))]}, {kind: images, train: [\(path("images"))]}, {kind: photo-pans, train: [\(path("photos"))]}]}
            """)
        var still = c.model.clipShape
        still.frames = 1
        try assertShards(MixedSource(c.data.images, named: "data.images", config: c.data, shape: still, seed: 5), size: 8, "still images")
    }

    /// A source that is not sharded still gives each rank the rows of the whole batch, alone or in a mixture.
    func testUnshardedSourcesGiveTheRowsOfTheWholeBatch() throws {
        DataSources.register("whole-batches-for-tests") { WholeBatchSource(config: $0, shape: $1, seed: $2) }
        let c = try data("{kind: mixture, sources: [{kind: whole-batches-for-tests}, {kind: moving-digits, train: [\(path("idx"))]}]}")
        try assertShards(DataSources.make(c.data, shape: c.model.clipShape, seed: 11), "mixture with an unsharded part")
        try assertShards(WholeBatchSource(config: c.data, shape: c.model.clipShape, seed: 3), "unsharded source")
    }

    /// Token and example sets: the example numbers of a rank's rows are those rows of the global draw.
    func testRandomBatchIndicesOfARankAreItsRowsOfTheGlobalDraw() throws {
        let whole = try randomBatchIndices(count: 1000, seed: 3, step: 9, rows: 0..<24).toArray(Int64.self)
        XCTAssertEqual(try randomBatchIndices(count: 1000, batch: 24, seed: 3, step: 9, parallel: nil).toArray(Int64.self), whole)
        XCTAssertGreaterThan(Set(whole).count, 20)
        XCTAssert(whole.allSatisfy { (0..<1000).contains($0) })
        for worldSize in [2, 3, 4, 8] {
            let parts = try (0..<worldSize).flatMap { rank in
                try randomBatchIndices(count: 1000, seed: 3, step: 9, rows: DataParallel.rows(of: 24, rank: rank, worldSize: worldSize)).toArray(Int64.self)
            }
            XCTAssertEqual(parts, whole, "\(worldSize) ranks")
        }
        XCTAssertNotEqual(try randomBatchIndices(count: 1000, seed: 3, step: 10, rows: 0..<24).toArray(Int64.self), whole)
    }
}
