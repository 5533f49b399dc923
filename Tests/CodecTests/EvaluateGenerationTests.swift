// `magvit eval gen`: FID between folders of images, FVD between folders of videos, the statistics
// cache and file, and bad sets; `magvit eval is` with a logits layer file.
import Foundation
import Media
import NN
import TestSupport
import Torch
import XCTest

final class EvaluateGenerationTests: XCTestCase {
    func testFIDBetweenFoldersWithCacheAndStatisticsFile() throws {
        let clip = repositoryRoot.appendingPathComponent(".deps/media/bikes.mp4").path
        guard FileManager.default.fileExists(atPath: clip) else { throw XCTSkip("run scripts/setup.sh for the sample clips") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-gen-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        // Two folders of 4 frames: the clip's frames and brightened copies.
        let frames = try XCTUnwrap(VideoReader(path: clip, options: ReadOptions(size: (64, 48), maxFrames: 60)).readAll())
        for (set, gain) in [("real", 1.0), ("fake", 1.6)] {
            try FileManager.default.createDirectory(atPath: path(set), withIntermediateDirectories: true)
            for i in 0..<4 {
                let writer = try VideoWriter(path: path("\(set)/\(i).png"), width: 64, height: 48)
                try writer.write((frames.narrow(0, start: i * 10, length: 1) * gain).clamp(min: 0, max: 1))
                try writer.finish()
            }
        }
        let cache = ["--cache", path("cache")]
        var r = try magvit(["eval", "gen", path("real"), path("real"), "--json", path("self.json")] + cache)
        XCTAssertEqual(r.status, 0, r.output)
        let same = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("self.json")))) as? [String: Any])
        XCTAssertEqual(same["real_images"] as? Int, 4)
        XCTAssertEqual(try XCTUnwrap(same["fid"] as? Double), 0, accuracy: 1e-6)
        XCTAssertTrue(r.output.contains("statistics from the cache"), "the second read of a set comes from the cache: \(r.output)")
        r = try magvit(["eval", "gen", path("real"), path("fake"), "--json", path("fake.json"), "--save-stats", path("fake-stats.safetensors")] + cache)
        XCTAssertEqual(r.status, 0, r.output)
        let fid = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("fake.json")))) as? [String: Any])?["fid"] as? Double)
        XCTAssertGreaterThan(fid, 1, r.output)
        // Saved statistics stand in for the set.
        r = try magvit(["eval", "gen", path("real"), path("fake-stats.safetensors"), "--json", path("again.json")] + cache)
        XCTAssertEqual(r.status, 0, r.output)
        let again = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("again.json")))) as? [String: Any])?["fid"] as? Double)
        XCTAssertEqual(again, fid, accuracy: 1e-9)
        // Bad sets: a missing folder, an empty one, a file of unknown kind.
        try FileManager.default.createDirectory(atPath: path("empty"), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: path("notes.txt")))
        for (bad, expected) in [(path("missing"), "no such file or folder"), (path("empty"), "no images or videos"), (path("notes.txt"), "unknown kind of file")] {
            r = try magvit(["eval", "gen", path("real"), bad] + cache)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.output.contains(expected), r.output)
        }
    }

    func testFVDBetweenFoldersOfVideos() throws {
        let clip = repositoryRoot.appendingPathComponent(".deps/media/bikes.mp4").path
        guard FileManager.default.fileExists(atPath: clip) else { throw XCTSkip("run scripts/setup.sh for the sample clips") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-fvd-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        // Two folders of three 10-frame 32x32 videos: stretches of the clip, and the same played backwards.
        let frames = try XCTUnwrap(VideoReader(path: clip, options: ReadOptions(size: (32, 32), maxFrames: 40)).readAll())
        for (set, reversed) in [("real", false), ("fake", true)] {
            try FileManager.default.createDirectory(atPath: path(set), withIntermediateDirectories: true)
            for i in 0..<3 {
                let writer = try VideoWriter(path: path("\(set)/\(i).y4m"), width: 32, height: 32)
                for t in 0..<10 { try writer.write(frames.narrow(0, start: i * 10 + (reversed ? 9 - t : t), length: 1)) }
                try writer.finish()
            }
        }
        let common = ["--metric", "fvd", "--clip-frames", "9", "--no-cache"]
        var r = try magvit(["eval", "gen", path("real"), path("real"), "--json", path("self.json")] + common)
        XCTAssertEqual(r.status, 0, r.output)
        let same = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("self.json")))) as? [String: Any])
        XCTAssertEqual(same["real_clips"] as? Int, 3)
        XCTAssertEqual(try XCTUnwrap(same["fvd"] as? Double), 0, accuracy: 1e-6)
        r = try magvit(["eval", "gen", path("real"), path("fake"), "--json", path("fake.json")] + common)
        XCTAssertEqual(r.status, 0, r.output)
        let fvd = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("fake.json")))) as? [String: Any])?["fvd"] as? Double)
        XCTAssertGreaterThan(fvd, 0.01, r.output)
        // Clips longer than the videos, images, too-short clips and two metrics' statistics in one file are refused.
        for (arguments, expected) in [
            (["--metric", "fvd", "--clip-frames", "16"], "shorter than one 16-frame FVD clip"),
            (["--metric", "fvd", "--clip-frames", "8"], "at least 9"),
            (["--metric", "both", "--save-stats", path("s.safetensors")], "one metric"),
        ] {
            r = try magvit(["eval", "gen", path("real"), path("fake"), "--no-cache"] + arguments)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertTrue(r.output.contains(expected), r.output)
        }
        r = try magvit(["eval", "gen", "fashion-mnist", path("fake"), "--metric", "fvd", "--no-cache"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("FVD needs videos"), r.output)
    }

    func testInceptionScoreWithALogitsLayerFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-is-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        // A stand-in head (the real one cannot be had offline) over 4 random images.
        try SafeTensors.write(["weight": Tensor.randn([1008, 2048]), "bias": Tensor.zeros([1008])],
                              metadata: ["network": "inception-v3-logits"], to: URL(fileURLWithPath: path("head.safetensors")))
        try FileManager.default.createDirectory(atPath: path("images"), withIntermediateDirectories: true)
        for i in 0..<4 {
            let writer = try VideoWriter(path: path("images/\(i).png"), width: 40, height: 40)
            try writer.write(Tensor.rand([1, 40, 40, 3]))
            try writer.finish()
        }
        var r = try magvit(["eval", "is", path("images"), "--head", path("head.safetensors"), "--splits", "2", "--json", path("is.json")])
        XCTAssertEqual(r.status, 0, r.output)
        let result = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("is.json")))) as? [String: Any])
        XCTAssertEqual(result["images"] as? Int, 4)
        let score = try XCTUnwrap(result["is_mean"] as? Double)
        XCTAssertGreaterThanOrEqual(score, 1, "a score is at least 1")
        XCTAssertLessThanOrEqual(score, 2, "at most the images in a part (2)")
        r = try magvit(["eval", "is", path("images"), "--head", path("missing.safetensors")])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("convert-weights.py inception-logits"), r.output)
        r = try magvit(["eval", "is", path("images"), "--head", path("head.safetensors"), "--splits", "5"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("fewer than the 5 splits"), r.output)
    }
}
