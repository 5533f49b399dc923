// Streaming encode/decode through files against the in-memory path, flat memory on long videos,
// and the `magvit` tool end to end on a real clip, bad inputs included.
import Codec
import Foundation
import Media
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

final class CodecTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-codec-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        Torch.manualSeed(4)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A lossless clip of smooth random content, 16x16, `frames` long.
    private func writeClip(_ name: String, frames: Int, size: Int = 16) throws -> Tensor {
        let coarse = try Tensor.rand([frames, 3, 4, 4])
        let video = try interpolate(coarse, size: [size, size], mode: .linear).permute([0, 2, 3, 1]).contiguous()
        let exact = try (video * 255).round() / 255
        let writer = try VideoWriter(path: path(name), width: size, height: size)
        try writer.write(exact)
        try writer.finish()
        return exact
    }

    func testDecodeOfEncodeThroughFilesEqualsTheInMemoryPath() throws {
        let original = try writeClip("in.mkv", frames: 8)  // clips of 5: one full, one of 3 padded to 3
        let model = try VideoTokenizer(config: .tiny)
        let codec = try VideoCodec(model: model)
        let file = try codec.encode(path: path("in.mkv"))
        XCTAssertEqual(file.header.chunks, [TokenFile.Chunk(frames: 5, latentFrames: 3), TokenFile.Chunk(frames: 3, latentFrames: 2)])
        try file.write(to: folder.appendingPathComponent("t.mgvt"))
        let reread = try TokenFile(contentsOf: folder.appendingPathComponent("t.mgvt"))
        try codec.decode(reread, to: path("out.mkv"))
        let decoded = try XCTUnwrap(VideoReader(path: path("out.mkv")).readAll())
        // In memory: the same clips through encode and decode.
        var expected: [Tensor] = []
        for (start, count) in [(0, 5), (5, 3)] {
            let clip = try modelInput(original.narrow(0, start: start, length: count))
            expected.append(try framesFromModel(model.decode(model.encode(clip))))
        }
        let reference = try (concatenate(expected, dim: 0) * 255).round()
        XCTAssertEqual(try (decoded * 255).round().toArray(Float.self), try reference.toArray(Float.self))
        XCTAssertEqual(try reread.ids, try file.ids)
    }

    func testMemoryStaysFlatOverAVideoTwentyChunksLong() throws {
        _ = try writeClip("long.mkv", frames: 5 * 20, size: 32)
        let codec = try VideoCodec(model: VideoTokenizer(config: .tiny))
        var resident: [Int] = []
        _ = try codec.encode(path: path("long.mkv")) { _ in resident.append(residentBytes()) }
        XCTAssertEqual(resident.count, 20)
        let growth = resident.last! - resident[2]
        print("encoding 20 chunks: resident \(resident[2] >> 20) MiB after chunk 3, \(resident.last! >> 20) MiB after chunk 20")
        XCTAssertLessThan(growth, 16 << 20, "resident memory grew \(growth >> 20) MiB over 17 chunks")
    }

    // MARK: the tool

    func testToolEndToEndOnARealClip() throws {
        let clip = repositoryRoot.appendingPathComponent(".deps/media/carphone_pristine.mp4").path
        guard FileManager.default.fileExists(atPath: clip) else { throw XCTSkip("run scripts/setup.sh for the sample clips") }
        // A checkpoint to use: the tiny preset's weights saved as a Magvit checkpoint.
        Torch.manualSeed(8)
        let checkpoint = path("tiny.safetensors")
        try VideoTokenizer(config: .tiny).save(to: URL(fileURLWithPath: checkpoint))
        let model = ["--checkpoint", checkpoint]

        var r = try magvit(["encode", clip, "-o", path("c.mgvt"), "--size", "64x48", "--max-frames", "12"] + model)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("12 frames -> 8x12x16 tokens of 6 bits (3 clips)"), r.output)
        r = try magvit(["info", path("c.mgvt")])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("tokens      8x12x16 of 6 bits") && r.output.contains("carphone_pristine.mp4, 176x144"), r.output)
        r = try magvit(["decode", path("c.mgvt"), "-o", path("c.mp4")] + model)
        XCTAssertEqual(r.status, 0, r.output)
        let info = try VideoInfo(probing: path("c.mp4"))
        XCTAssertEqual([info.width, info.height, info.frames ?? 0], [64, 48, 12])
        // Played back at the source's size, or at another one; a bad size is refused before any work.
        r = try magvit(["decode", path("c.mgvt"), "-o", path("source.mp4"), "--size", "source"] + model)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("12 frames of 176x144 (scaled from 64x48)"), r.output)
        let source = try VideoInfo(probing: path("source.mp4"))
        XCTAssertEqual([source.width, source.height, source.frames ?? 0], [176, 144, 12])
        r = try magvit(["decode", path("c.mgvt"), "-o", path("wide.gif"), "--size", "96x40"] + model)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual([try VideoInfo(probing: path("wide.gif")).width, try VideoInfo(probing: path("wide.gif")).height], [96, 40])
        r = try magvit(["decode", path("c.mgvt"), "-o", path("bad.mkv"), "--size", "96x"] + model)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("--size expects WIDTHxHEIGHT"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.mkv")))
        r = try magvit(["reconstruct", clip, "-o", path("r.mp4"), "--size", "64x48", "--max-frames", "6"] + model)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("6 frames, PSNR"), r.output)
        XCTAssertEqual(try VideoInfo(probing: path("r.mp4")).width, 128, "side by side")
        _ = try writeClip("smooth.mkv", frames: 8)
        r = try magvit(["eval", "recon", "--data", clip, path("smooth.mkv"), "--size", "64x48", "--max-frames", "6", "--skip", "rfid,rfvd",
                        "--json", path("eval.json")] + model)
        XCTAssertEqual(r.status, 0, r.output)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("eval.json")))) as? [String: Any])
        let rows = try XCTUnwrap(json["videos"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 2)
        let row = rows[0]
        XCTAssertEqual(row["frames"] as? Int, 6)
        XCTAssertGreaterThan(row["psnr"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(row["codes_used"] as? Int ?? 0, 0)
        XCTAssertNil(row["ms_ssim"], "64x48 frames are too small for MS-SSIM")
        // The mean row: each video counts once; frames are the total.
        let mean = try XCTUnwrap(json["mean"] as? [String: Any], "\(json)")
        XCTAssertEqual(mean["videos"] as? Int, 2)
        XCTAssertEqual(mean["frames"] as? Int, 12)
        for score in ["psnr", "ssim", "lpips_alex", "lpips_vgg"] {
            let values = rows.map { $0[score] as? Double ?? .nan }
            XCTAssertEqual(mean[score] as? Double ?? .nan, (values[0] + values[1]) / 2, accuracy: 1e-9, score)
        }
        // Codebook usage is over the whole set: at least each video's, at most their sum.
        let codes = rows.map { $0["codes_used"] as? Int ?? 0 }, all = mean["codes_used"] as? Int ?? 0
        XCTAssertTrue(all >= codes.max()! && all <= codes.reduce(0, +), "\(all) vs \(codes)")
        XCTAssertNil(mean["ms_ssim"])
        let meanLine = try XCTUnwrap(r.output.split(separator: "\n").first { $0.hasPrefix("mean of 2 videos") }, r.output)
        XCTAssertTrue(meanLine.contains(String(format: "%7.2f", mean["psnr"] as? Double ?? 0)), String(meanLine))
        r = try magvit(["info", checkpoint])
        XCTAssertTrue(r.output.contains("tokenizer checkpoint") && r.output.contains("2^6 codes"), r.output)
        r = try magvit(["info", clip])
        XCTAssertTrue(r.output.contains("176x144, h264"), r.output)
    }

    func testToolRefusesBadInputsWithOneClearMessage() throws {
        Torch.manualSeed(8)
        let checkpoint = path("tiny.safetensors")
        let model = try VideoTokenizer(config: .tiny)
        try model.save(to: URL(fileURLWithPath: checkpoint))
        _ = try writeClip("ok.mkv", frames: 5)
        XCTAssertEqual(try magvit(["encode", path("ok.mkv"), "-o", path("ok.mgvt"), "--checkpoint", checkpoint]).status, 0)

        func fails(_ arguments: [String], _ fragment: String, line: UInt = #line) throws {
            let r = try magvit(arguments)
            XCTAssertNotEqual(r.status, 0, "should fail: \(arguments)", line: line)
            XCTAssertTrue(r.output.contains(fragment), "expected '\(fragment)' in: \(r.output)", line: line)
            XCTAssertFalse(r.output.contains("Fatal error") || r.output.contains("Stack dump"), r.output, line: line)
        }
        try fails(["encode", path("missing.mp4"), "-o", path("x.mgvt"), "--checkpoint", checkpoint], "no such file")
        try "hello".write(toFile: path("text.mp4"), atomically: true, encoding: .utf8)
        try fails(["encode", path("text.mp4"), "-o", path("x.mgvt"), "--checkpoint", checkpoint], "ffprobe failed")
        let real = try Data(contentsOf: URL(fileURLWithPath: path("ok.mkv")))
        try real.prefix(real.count * 2 / 3).write(to: URL(fileURLWithPath: path("cut.mkv")))
        try fails(["encode", path("cut.mkv"), "-o", path("x.mgvt"), "--checkpoint", checkpoint], "cut.mkv")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.mgvt")), "no output from failed runs")
        var corrupt = try Data(contentsOf: URL(fileURLWithPath: path("ok.mgvt")))
        corrupt[corrupt.count / 2] ^= 0xFF
        try corrupt.write(to: URL(fileURLWithPath: path("bad.mgvt")))
        try fails(["decode", path("bad.mgvt"), "-o", path("bad.mp4"), "--checkpoint", checkpoint], "corrupt or truncated")
        try corrupt.prefix(30).write(to: URL(fileURLWithPath: path("short.mgvt")))
        try fails(["decode", path("short.mgvt"), "-o", path("bad.mp4"), "--checkpoint", checkpoint], "corrupt or truncated")
        Torch.manualSeed(99)
        let other = path("other.safetensors")
        try VideoTokenizer(config: .tiny).save(to: URL(fileURLWithPath: other))
        try fails(["decode", path("ok.mgvt"), "-o", path("bad.mp4"), "--checkpoint", other], "not by 'tiny'")
        // A checkpoint whose tensors do not fit the config in its own metadata.
        var config = TokenizerConfig.tiny
        config.baseChannels = 16
        let contents = try SafeTensors.read(URL(fileURLWithPath: checkpoint))
        var metadata = contents.metadata
        metadata["magvit.config"] = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        try SafeTensors.write(contents.tensors, metadata: metadata, to: URL(fileURLWithPath: path("mismatched.safetensors")))
        try fails(["encode", path("ok.mkv"), "-o", path("x.mgvt"), "--checkpoint", path("mismatched.safetensors")], "wrong shape")
        try fails(["decode", path("ok.mgvt"), "-o", path("out.avi"), "--checkpoint", checkpoint], "cannot write .avi")
        try fails(["encode", path("ok.mkv"), "-o", path("x.mgvt"), "--checkpoint", checkpoint, "--size", "30x30"], "multiple of 4")
        try fails(["encode", path("ok.mkv"), "-o", path("x.mgvt"), "--bogus"], "Unknown option")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("bad.mp4")))
    }

    func testShippedDefaultTokenizerReconstructsAHeldOutClip() throws {
        let url = repositoryRoot.appendingPathComponent("models/default-tokenizer.safetensors")
        let clip = repositoryRoot.appendingPathComponent(".deps/media/carphone_pristine.mp4").path
        guard FileManager.default.fileExists(atPath: clip) else { throw XCTSkip("run scripts/setup.sh for the sample clips") }
        let model = try VideoTokenizer.load(from: url)
        XCTAssertEqual(model.config.quantizer.bits, 18)
        let codec = try VideoCodec(model: model)
        let report = try codec.reconstruct(path: clip, to: path("r.mkv"), options: ReadOptions(size: (64, 64), maxFrames: 17))
        print(String(format: "default tokenizer on carphone 17x64x64: PSNR %.2f dB, SSIM %.3f", report.meanPSNR, report.meanSSIM))
        XCTAssertGreaterThan(report.meanPSNR, 17.0, "carphone was never seen in training; measured 17.86 dB at 64x64")
        XCTAssertGreaterThan(report.meanSSIM, 0.40, "measured 0.454")
    }
}
