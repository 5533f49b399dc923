// Comparing a decoded video with its reference (the codec study's metrics): a video against itself
// scores perfectly, a noisier copy worse; luma PSNR is computed from RGB; the reference's I3D
// windows are computed once and reused; mismatched sizes and lengths are refused.
import Evaluation
import Foundation
import Media
import TestSupport
import Torch
import XCTest

final class VideoComparisonTests: XCTestCase {
    func testScoresWindowsAndRefusals() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-compare-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        Torch.manualSeed(5)
        let reference = folder.appendingPathComponent("ref.mkv")
        try SyntheticData.writeVideo(to: reference, frames: 18, size: 32)
        let frames = try XCTUnwrap(VideoReader(path: reference.path).readAll())
        func write(_ name: String, _ x: Tensor, size: Int = 32) throws -> String {
            let path = folder.appendingPathComponent(name).path
            let writer = try VideoWriter(path: path, width: size, height: size)
            try writer.write(x)
            try writer.finish()
            return path
        }
        let noisy = try write("noisy.mkv", ((frames + Tensor.randn(frames.shape) * 0.05).clamp(min: 0, max: 1) * 255).round() / 255)
        let comparison = try VideoComparison(lpips: true, fvd: true)
        let same = try comparison.compare(reference: reference.path, distorted: reference.path)
        XCTAssertEqual(same.scores.frames, 18)
        XCTAssertEqual(same.scores.psnr, 100)
        XCTAssertEqual(same.scores.psnrY, 100)
        XCTAssertEqual(same.scores.ssim, 1, accuracy: 1e-9)
        XCTAssertLessThan(try XCTUnwrap(same.scores.lpips), 1e-4)
        XCTAssertEqual(same.windows.count, 1, "one full 16-frame window in 18 frames")
        let worse = try comparison.compare(reference: reference.path, distorted: noisy)
        XCTAssertLessThan(worse.scores.psnr, 35)
        XCTAssertGreaterThan(worse.scores.psnr, 20)
        XCTAssertGreaterThan(worse.scores.psnrY, worse.scores.psnr, "noise drawn per channel partly cancels in luma")
        XCTAssertGreaterThan(try XCTUnwrap(worse.scores.lpips), 0.001)
        XCTAssertEqual(try worse.windows[0].0.toArray(Float.self), try same.windows[0].0.toArray(Float.self), "the reference's features are reused")
        XCTAssertEqual(try XCTUnwrap(VideoComparison.fvd(same.windows + same.windows)), 0, accuracy: 1e-3)

        let short = try write("short.mkv", frames.narrow(0, start: 0, length: 10))
        XCTAssertThrowsError(try comparison.compare(reference: reference.path, distorted: short)) { XCTAssertTrue("\($0)".contains("fewer frames"), "\($0)") }
        let small = try write("small.mkv", frames.narrow(1, start: 0, length: 16).narrow(2, start: 0, length: 16).contiguous(), size: 16)
        XCTAssertThrowsError(try comparison.compare(reference: reference.path, distorted: small)) { XCTAssertTrue("\($0)".contains("is 16x16"), "\($0)") }
    }
}
