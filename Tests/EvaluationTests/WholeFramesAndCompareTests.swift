// `eval recon` scores what `reconstruct` scores (each video's whole frames, rounded down to the
// tokenizer's multiple) unless --size asks otherwise, and `eval compare` scores decoded videos against
// their reference with the study's metrics, the stream's bits per pixel, and refusals of other sizes
// and lengths (issue 34).
import Codec
import Evaluation
import Foundation
import Media
import TestSupport
import Tokenizer
import Torch
import XCTest

final class WholeFramesAndCompareTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-whole-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A lossless video of smooth random frames, `width`×`height`.
    func writeVideo(_ name: String, frames: Int, width: Int, height: Int) throws -> Tensor {
        let coarse = try Tensor.rand([frames, 3, 4, 4])
        let video = try ((interpolate(coarse, size: [height, width], mode: .linear).permute([0, 2, 3, 1]) * 255).round() / 255).contiguous()
        try write(name, video)
        return video
    }

    func write(_ name: String, _ frames: Tensor) throws {
        let writer = try VideoWriter(path: path(name), width: frames.size(2), height: frames.size(1))
        try writer.write(frames)
        try writer.finish()
    }

    func testEvalReconScoresWholeFramesAsReconstructDoes() throws {
        Torch.manualSeed(3)
        _ = try writeVideo("wide.mkv", frames: 9, width: 42, height: 30)  // 40x28 at a multiple of 4
        _ = try writeVideo("square.mkv", frames: 9, width: 32, height: 32)
        var config = TokenizerConfig.tiny
        config.resolution = 32
        Torch.manualSeed(0)
        let model = try VideoTokenizer(config: config)
        var options = ReconstructionEvaluation.Options()
        (options.lpips, options.rFID, options.rFVD) = (false, false, false)
        let files = [path("wide.mkv"), path("square.mkv")]
        let result = try ReconstructionEvaluation(model: model, options: options).run(files: files)
        XCTAssertEqual(result.frameSizes.map { [$0.width, $0.height] }, [[40, 28], [32, 32]])
        let codec = try VideoCodec(model: model)
        for (file, (_, scores)) in zip(files, result.videos) {
            let reference = try codec.reconstruct(path: file, to: nil)
            XCTAssertEqual(scores.psnr, reference.meanPSNR, accuracy: 1e-4, file)
            XCTAssertEqual(scores.ssim, reference.meanSSIM, accuracy: 1e-6, file)
        }
        // Asked for, one size for all.
        options.size = (16, 16)
        let cropped = try ReconstructionEvaluation(model: model, options: options).run(files: files)
        XCTAssertEqual(cropped.frameSizes.map { [$0.width, $0.height] }, [[16, 16], [16, 16]])

        try model.save(to: folder.appendingPathComponent("tiny.safetensors"))
        let r = try magvit(["eval", "recon", "--data", path("wide.mkv"), "--skip", "lpips,rfid,rfvd", "--checkpoint", path("tiny.safetensors")])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("frames: whole frames") && r.output.contains("40x28 (1 video)"), r.output)
        let rr = try magvit(["reconstruct", path("wide.mkv"), "-o", path("r.mp4"), "--checkpoint", path("tiny.safetensors")])
        XCTAssertTrue(rr.output.contains("on the centre 40x28 of 42x30 frames"), rr.output)
        let psnr = String(format: "%.2f", result.videos[0].scores.psnr)
        XCTAssertTrue(rr.output.contains("PSNR \(psnr) dB") && r.output.contains(psnr), "the two agree: \(r.output) / \(rr.output)")
    }

    func testEvalCompareScoresAgainstTheReference() throws {
        Torch.manualSeed(5)
        let frames = try writeVideo("ref.mkv", frames: 32, width: 32, height: 32)
        try write("noisy.mkv", ((frames + Tensor.randn(frames.shape) * 0.05).clamp(min: 0, max: 1) * 255).round() / 255)
        try write("short.mkv", frames.narrow(0, start: 0, length: 20))
        try write("small.mkv", frames.narrow(1, start: 0, length: 16).narrow(2, start: 0, length: 16).contiguous())

        var r = try magvit(["eval", "compare", path("ref.mkv"), path("ref.mkv"), path("noisy.mkv"), "--json", path("scores.json")])
        XCTAssertEqual(r.status, 0, r.output)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("scores.json")))) as? [String: Any])
        let rows = try XCTUnwrap(json["videos"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0]["psnr"] as? Double, 100)
        XCTAssertEqual(rows[0]["psnr_y"] as? Double, 100)
        XCTAssertEqual(rows[0]["ssim"] as? Double ?? 0, 1, accuracy: 1e-9)
        XCTAssertEqual(rows[0]["fvd"] as? Double ?? -1, 0, accuracy: 1e-2)
        XCTAssertLessThan(rows[1]["psnr"] as? Double ?? 100, 35)
        XCTAssertGreaterThan(rows[1]["lpips"] as? Double ?? 0, rows[0]["lpips"] as? Double ?? 1)
        XCTAssertGreaterThan(rows[1]["fvd"] as? Double ?? 0, 0)
        XCTAssertNil(rows[0]["ms_ssim"], "32x32 frames are too small for MS-SSIM")
        XCTAssertTrue(r.output.contains("noisy.mkv") && r.output.contains(String(format: "%.2f", rows[1]["psnr"] as? Double ?? 0)), r.output)

        r = try magvit(["eval", "compare", path("ref.mkv"), path("short.mkv"), "--skip", "lpips,fvd"])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("fewer frames than its reference"), r.output)
        r = try magvit(["eval", "compare", path("ref.mkv"), path("small.mkv"), "--skip", "lpips,fvd"])
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("is 16x16, its reference"), r.output)
        r = try magvit(["eval", "compare", path("ref.mkv"), path("noisy.mkv"), "--stream", "a.mgvc", "--stream", "b.mgvc"])
        XCTAssertEqual(r.status, 64, r.output)

        // A stream's bits per pixel: over the reference's frames and pixels.
        Torch.manualSeed(8)
        try VideoTokenizer(config: .tiny).save(to: folder.appendingPathComponent("tiny.safetensors"))
        let model = ["--checkpoint", path("tiny.safetensors")]
        r = try magvit(["compress", path("ref.mkv"), "-o", path("ref.mgvc"), "--baseline"] + model)
        XCTAssertEqual(r.status, 0, r.output)
        r = try magvit(["decompress", path("ref.mgvc"), "-o", path("decoded.mkv"), "--baseline"] + model)
        XCTAssertEqual(r.status, 0, r.output)
        r = try magvit(["eval", "compare", path("ref.mkv"), path("decoded.mkv"), "--stream", path("ref.mgvc"), "--skip", "lpips,fvd", "--json", "-"])
        XCTAssertEqual(r.status, 0, r.output)
        let bytes = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path("ref.mgvc"))[.size] as? Int)
        let bpp = Double(bytes * 8) / Double(32 * 32 * 32)
        XCTAssertTrue(r.output.contains(String(format: "%.4f", bpp)), "\(bpp): \(r.output)")
        XCTAssertTrue(r.output.contains("\"stream_bytes\" : \(bytes)"), r.output)
    }
}
