// Bits per pixel are of the video the user gave (issue 34): a clip coded at a lower size is rated over
// the source's pixels, by `compress`, by `info` and by the stream, with the coded size's rate beside it.
import Compression
import Foundation
import TestSupport
import Tokenizer
import Torch
import XCTest

final class BitsPerPixelTests: XCTestCase {
    func testBitsPerPixelAreOfTheSourcesPixels() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-bpp-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        try SyntheticData.writeVideo(to: folder.appendingPathComponent("in.mkv"), frames: 9, size: 64)
        Torch.manualSeed(8)
        try VideoTokenizer(config: .tiny).save(to: folder.appendingPathComponent("tiny.safetensors"))
        let model = ["--checkpoint", path("tiny.safetensors")]

        var r = try magvit(["compress", path("in.mkv"), "-o", path("half.mgvc"), "--size", "32x32", "--baseline"] + model)
        XCTAssertEqual(r.status, 0, r.output)
        let bytes = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path("half.mgvc"))[.size] as? Int)
        let source = Double(bytes * 8) / Double(9 * 64 * 64), coded = Double(bytes * 8) / Double(9 * 32 * 32)
        let rate = String(format: "%.4f bits per pixel of the 64x64 source (%.4f at the coded 32x32)", source, coded)
        XCTAssertTrue(r.output.contains(rate), "\(rate): \(r.output)")
        r = try magvit(["info", path("half.mgvc")])
        XCTAssertTrue(r.output.contains(rate), "\(rate): \(r.output)")
        let stream = try CompressedStream(contentsOf: folder.appendingPathComponent("half.mgvc"))
        XCTAssertEqual(stream.bitsPerPixel(fileBytes: bytes), source, accuracy: 1e-12)
        XCTAssertEqual(stream.codedBitsPerPixel(fileBytes: bytes), coded, accuracy: 1e-12)

        // At its own size, one rate.
        r = try magvit(["compress", path("in.mkv"), "-o", path("full.mgvc"), "--baseline"] + model)
        XCTAssertEqual(r.status, 0, r.output)
        let full = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path("full.mgvc"))[.size] as? Int)
        XCTAssertTrue(r.output.contains(String(format: "%d bytes: %.4f bits per pixel, ", full, Double(full * 8) / Double(9 * 64 * 64))), r.output)
    }
}
