// The sets `magvit eval` reads, without the networks: opening specs and their errors, image batches
// and clips from files, batching, signatures, the statistics cache and statistics files.
import Evaluation
import Foundation
import Media
import Metrics
import Tokenizer
import Torch
import XCTest

final class MediaSetTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-media-set-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func noTokenizer() throws -> VideoTokenizer { throw EvaluationError("no token files here") }

    func write(_ name: String, frames: Int, side: Int = 24) throws {
        let writer = try VideoWriter(path: path(name), width: side, height: side)
        try writer.write(Tensor.rand([frames, side, side, 3]))
        try writer.finish()
    }

    func testImagesAndClipsFromFiles() throws {
        try FileManager.default.createDirectory(atPath: path("images"), withIntermediateDirectories: true)
        for i in 0..<3 { try write("images/\(i).png", frames: 1) }
        let images = try MediaSet(path("images"), tokenizer: noTokenizer)
        XCTAssertEqual(images.count, 3)
        XCTAssertEqual(images.count(limit: 2), 2)
        var shapes: [[Int]] = []
        try images.forEachImages(limit: 2) { shapes.append($0.shape) }
        XCTAssertEqual(shapes, [[1, 3, 24, 24], [1, 3, 24, 24]])
        XCTAssertThrowsError(try images.forEachClip(frames: 9, perVideo: 1, limit: 0) { _ in }) {
            XCTAssertTrue("\($0)".contains("FVD needs videos"), "\($0)")
        }
        // A 20-frame video: two 9-frame clips, then a 2-frame tail that is dropped.
        try write("clip.y4m", frames: 20)
        let video = try MediaSet(path("clip.y4m"), tokenizer: noTokenizer)
        XCTAssertNil(video.count, "frames of a video are not counted before reading")
        var clips: [[Int]] = []
        try video.forEachClip(frames: 9, perVideo: 0, limit: 0) { clips.append($0.shape) }
        XCTAssertEqual(clips, [[1, 3, 9, 24, 24], [1, 3, 9, 24, 24]])
        XCTAssertThrowsError(try video.forEachClip(frames: 21, perVideo: 1, limit: 0) { _ in }) {
            XCTAssertTrue("\($0)".contains("shorter than one 21-frame FVD clip"), "\($0)")
        }
        var frames = 0
        try video.forEachImages(limit: 0) { frames += $0.size(0) }
        XCTAssertEqual(frames, 20)
        XCTAssertNotEqual(try video.signature(network: "a", limit: 0), try video.signature(network: "b", limit: 0))
        XCTAssertEqual(try video.signature(network: "a", limit: 0), try MediaSet(path("clip.y4m"), tokenizer: noTokenizer).signature(network: "a", limit: 0))
    }

    func testBadSpecs() throws {
        try FileManager.default.createDirectory(atPath: path("empty"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: path("notes.txt")))
        for (spec, expected) in [(path("missing"), "no such file or folder"), (path("empty"), "no images or videos"), (path("notes.txt"), "unknown kind of file")] {
            XCTAssertThrowsError(try MediaSet(spec, tokenizer: noTokenizer)) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        }
    }

    func testBatching() throws {
        var batches = Batching(size: 2)
        var sizes: [Int] = []
        for _ in 0..<5 { if let b = try batches.add(Tensor.zeros([1, 4])) { sizes.append(b.size(0)) } }
        if let b = try batches.rest() { sizes.append(b.size(0)) }
        XCTAssertEqual(sizes, [2, 2, 1])
        XCTAssertNil(try batches.rest())
    }

    func testStatisticsCacheAndFiles() throws {
        var s = try FeatureStatistics(dimension: I3D.classCount)
        try s.add(Tensor.randn([5, I3D.classCount]))
        let cache = StatisticsCache(folder: folder.appendingPathComponent("cache"))
        XCTAssertNil(cache.load(signature: "abc"))
        try cache.store(s, signature: "abc", metadata: ["network": FrechetNetwork.fvd.name])
        XCTAssertEqual(cache.load(signature: "abc")?.count, 5)
        // A statistics file is read back by its network and refused by the other.
        let set = GenerationEvaluation.SetStatistics(spec: "x", network: .fvd, statistics: s, origin: .features)
        let url = folder.appendingPathComponent("fvd.safetensors")
        try set.save(to: url)
        XCTAssertEqual(try FrechetNetwork.fvd.loadStatistics(url).count, 5)
        XCTAssertThrowsError(try FrechetNetwork.fid.loadStatistics(url)) { XCTAssertTrue("\($0)".contains("expected fid-inception-v3"), "\($0)") }
    }
}
