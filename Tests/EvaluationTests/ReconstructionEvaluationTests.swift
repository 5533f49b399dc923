// `eval recon` at dataset scale: the batched pool path scores each video as the clip-by-clip
// reconstruct path does, usage is over the whole set, rFID and rFVD are computed from the frame
// and 16-frame-window pairs, and a broken file is left out and reported.
import Codec
import Evaluation
import Foundation
import TestSupport
import Tokenizer
import Torch
import XCTest

final class ReconstructionEvaluationTests: XCTestCase {
    func testScoresMatchReconstructAndSetLevelMetricsAreComputed() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-recon-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        Torch.manualSeed(12)
        let paths = ["a.mkv", "b.mkv"].map { folder.appendingPathComponent($0).path }
        for path in paths { try SyntheticData.writeVideo(to: URL(fileURLWithPath: path), frames: 20, size: 32) }
        let broken = folder.appendingPathComponent("broken.mp4").path
        try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: broken))
        var config = TokenizerConfig.tiny
        config.resolution = 32
        Torch.manualSeed(0)
        let model = try VideoTokenizer(config: config)
        var options = ReconstructionEvaluation.Options()
        options.batch = 3
        let result = try ReconstructionEvaluation(model: model, options: options).run(files: [paths[0], broken, paths[1]])

        XCTAssertEqual(result.videos.map(\.path), paths)
        XCTAssertEqual(result.failures.map(\.path), [broken])
        let codec = try VideoCodec(model: model)
        var ids: [Int64] = []
        for (path, scores) in result.videos {
            let reference = try codec.reconstruct(path: path, to: nil)
            XCTAssertEqual(scores.frames, 20)
            // Batches of 3 clips against one: the convolution kernels block differently (on AVX-512
            // machines the PSNRs differ by 2e-6 dB), so equal to float rounding, not to the last bit.
            XCTAssertEqual(scores.psnr, reference.meanPSNR, accuracy: 1e-4, path)
            XCTAssertEqual(scores.ssim, reference.meanSSIM, accuracy: 1e-6, path)
            XCTAssertEqual(scores.codesUsed, Double(try XCTUnwrap(reference.usage()).used), path)
            XCTAssertTrue((scores.lpipsAlex ?? -1) > 0 && (scores.lpipsVGG ?? -1) > 0, "\(scores)")
            // The floor on the same frames is the one `reconstruct` records.
            let floor = try XCTUnwrap(scores.floor, path)
            XCTAssertEqual(floor.psnr, try XCTUnwrap(reference.meanFloorPSNR), accuracy: 1e-4, path)
            XCTAssertTrue((floor.lpipsAlex ?? -1) > 0, path)
            ids += try codec.encode(path: path).ids
        }
        let whole = try CodebookUsage(ids: Tensor(ids, shape: [ids.count]), codebookSize: config.quantizer.codebookSize)
        XCTAssertEqual(try XCTUnwrap(result.mean.floor).psnr, result.videos.map { $0.scores.floor!.psnr }.reduce(0, +) / 2, accuracy: 1e-9)
        XCTAssertEqual(Int(result.mean.codesUsed), whole.used)
        XCTAssertEqual(result.mean.perplexity, whole.perplexity, accuracy: 1e-9)
        XCTAssertEqual(result.fidFrames, 40)
        XCTAssertEqual(result.fvdClips, 2, "one 16-frame window of each 20-frame video")
        XCTAssertTrue((result.rFID ?? -1) > 0 && (result.rFVD ?? -1) > 0, "rFID \(result.rFID ?? .nan), rFVD \(result.rFVD ?? .nan)")
    }
}
