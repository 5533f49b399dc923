// Frames in and out through ffmpeg: lossless round trips, a real clip, resizing and rates, 10-bit
// sources, and clear errors for missing, non-media and truncated files.
import Foundation
import Media
import TestSupport
import Torch
import XCTest

/// The repository root (for .deps/media clips).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func sampleClip(_ name: String) throws -> String {
    let path = repositoryRoot.appendingPathComponent(".deps/media/\(name)").path
    guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is missing: run scripts/setup.sh") }
    return path
}

final class MediaTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-media-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        Torch.manualSeed(9)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// Random 8-bit frames as floats in [0, 1].
    private func frames(_ t: Int, _ h: Int, _ w: Int) throws -> Tensor {
        try Tensor.randint(0, 256, [t, h, w, 3]).to(.float32) / 255
    }

    func testLosslessFormatsRoundTripExactly() throws {
        let original = try frames(7, 24, 40)
        for name in ["frames", "clip.mkv"] {
            let path = folder.appendingPathComponent(name).path
            let writer = try VideoWriter(path: path, width: 40, height: 24, frameRate: (12, 1))
            try writer.write(original.narrow(0, start: 0, length: 3))
            try writer.write(original.narrow(0, start: 3, length: 4))
            try writer.finish()
            let reader = try VideoReader(path: path)
            let back = try XCTUnwrap(reader.readAll())
            XCTAssertEqual(back.shape, [7, 24, 40, 3], name)
            XCTAssertEqual(try (back * 255).round().to(.uint8).bytes(), try (original * 255).round().to(.uint8).bytes(), "\(name) is lossless")
        }
        let info = try VideoInfo(probing: folder.appendingPathComponent("clip.mkv").path)
        XCTAssertEqual(info.frameRate, 12)
        XCTAssertEqual([info.width, info.height], [40, 24])
    }

    func testLossyFormatsKeepSizeCountAndRoughlyTheContent() throws {
        // A smooth gradient survives H.264 and GIF well.
        let ramp = try Tensor.arange(0, 32, dtype: .float32).reshape([1, 1, 32, 1]).expand([5, 16, 32, 3]) / 31
        for name in ["clip.mp4", "clip.gif", "clip.y4m"] {
            let path = folder.appendingPathComponent(name).path
            let writer = try VideoWriter(path: path, width: 32, height: 16)
            try writer.write(ramp.contiguous())
            try writer.finish()
            let back = try XCTUnwrap(VideoReader(path: path).readAll())
            XCTAssertEqual(back.shape, [5, 16, 32, 3], name)
            XCTAssertLessThan(try (back - ramp).abs().mean().item(), 0.03, name)
        }
    }

    func testRealClipWithResizeCropRateAndLimit() throws {
        let clip = try sampleClip("carphone_pristine.mp4")
        let info = try VideoInfo(probing: clip)
        XCTAssertEqual([info.width, info.height], [176, 144])
        XCTAssertEqual(info.frames, 120)
        let reader = try VideoReader(path: clip, options: ReadOptions(size: (64, 64), maxFrames: 17))
        var total = 0
        while let chunk = try reader.read(5) {
            XCTAssertEqual(Array(chunk.shape.dropFirst()), [64, 64, 3])
            XCTAssertGreaterThan(try chunk.variance().item(), 0.001, "real content, not a flat frame")
            total += chunk.size(0)
        }
        try reader.checkComplete()
        XCTAssertEqual(total, 17)
        let halfRate = try XCTUnwrap(VideoReader(path: clip, options: ReadOptions(frameRate: info.frameRate / 2)).readAll())
        XCTAssertEqual(Double(halfRate.size(0)), 60, accuracy: 1)
    }

    func testTenBitSourcesKeepTheirPrecision() throws {
        let path = folder.appendingPathComponent("ten.mkv").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "gradients=s=64x32:d=0.2:r=10", "-pix_fmt", "yuv444p10le",
                             "-c:v", "ffv1", path]
        try process.run()
        process.waitUntilExit()
        try XCTSkipIf(process.terminationStatus != 0, "this ffmpeg cannot make a 10-bit test clip")
        let reader = try VideoReader(path: path)
        XCTAssertEqual(reader.info.bitDepth, 10)
        XCTAssertEqual(reader.outputBits, 16)
        let frames = try XCTUnwrap(reader.readAll())
        // Values between 8-bit levels exist: 10-bit detail was not rounded away.
        let scaled = try frames * 255
        XCTAssertGreaterThan(try (scaled - scaled.round()).abs().max().item(), 0.1)
    }

    func testBadInputsGiveClearErrors() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { _ = try VideoReader(path: "/nonexistent/clip.mp4") }.contains("no such file"))
        let text = folder.appendingPathComponent("notes.mp4").path
        try "not a video at all".write(toFile: text, atomically: true, encoding: .utf8)
        let notMedia = message { _ = try VideoReader(path: text) }
        XCTAssertTrue(notMedia.contains("notes.mp4") && notMedia.contains("ffprobe failed"), notMedia)
        // A clip cut in the middle of its data.
        let clip = try sampleClip("carphone_pristine.mp4")
        let truncated = folder.appendingPathComponent("cut.mp4").path
        let data = try Data(contentsOf: URL(fileURLWithPath: clip))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: truncated))
        let cut = message { _ = try VideoReader(path: truncated).readAll() }
        XCTAssertTrue(cut.contains("truncated") || cut.contains("cannot decode") || cut.contains("ffprobe failed"), cut)
        XCTAssertTrue(message { _ = try VideoWriter(path: folder.appendingPathComponent("x.avi").path, width: 8, height: 8) }
            .contains("cannot write .avi"))
        let writer = try VideoWriter(path: folder.appendingPathComponent("y.mkv").path, width: 8, height: 8)
        XCTAssertTrue(message { try writer.write(Tensor.zeros([1, 9, 8, 3])) }.contains("expected frames (T, 8, 8, 3)"))
    }

    func testFailedOrAbandonedWritesLeaveTheTargetAlone() throws {
        let path = folder.appendingPathComponent("keep.mkv").path
        let first = try VideoWriter(path: path, width: 16, height: 16)
        try first.write(frames(2, 16, 16))
        try first.finish()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let second = try VideoWriter(path: path, width: 16, height: 16)
        try second.write(frames(3, 16, 16))
        second.abandon()
        let empty = try VideoWriter(path: path, width: 16, height: 16)
        XCTAssertThrowsError(try empty.finish())  // no frames: refused, nothing replaced
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["keep.mkv"], "no partial files left")
    }
}
