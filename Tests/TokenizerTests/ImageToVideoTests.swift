// The paper's route to a video tokenizer: an image tokenizer first, inflated into the causal 3D one.
// On a still clip the inflated model must code and decode every frame as the image model does.
import Foundation
import TestSupport
import Tokenizer
import Torch
import XCTest

final class ImageToVideoTests: XCTestCase {
    func testAnInflatedImageTokenizerCodesAStillClipAsTheImageModel() throws {
        Torch.manualSeed(11)
        let config = TokenizerConfig.tiny  // 5 frames, 2x temporal, 4x spatial, temporal upsampling in the decoder
        let image = try VideoTokenizer(config: config.imageVersion)
        let video = try VideoTokenizer(config: config)
        XCTAssertGreaterThan(try video.inflateImageModel(image), 10)
        let frame = try Tensor.rand([1, 3, 1, 16, 16]) * 2 - 1
        let still = try frame.expand([1, 3, 5, 16, 16]).contiguous()
        let imageLatents = try withNoGrad { try image.latents(frame) }
        let videoLatents = try withNoGrad { try video.latents(still) }
        let t = videoLatents.size(2)
        try assertClose(videoLatents, imageLatents.expand([1, imageLatents.size(1), t, imageLatents.size(3), imageLatents.size(4)]),
                        rtol: 1e-4, atol: 1e-5, "latents of every latent frame")
        // One latent frame decodes to the image model's frame. (Over a whole clip the adaptive norm's
        // unbiased std spans t·h·w latents instead of h·w, so a still clip's frames differ slightly.)
        let codes = try withNoGrad { try video.quantize(videoLatents, losses: false).latents }
        let imageFrame = try withNoGrad { try image.decode(latents: image.quantize(imageLatents, losses: false).latents) }
        let first = try withNoGrad { try video.decode(latents: codes.narrow(2, start: 0, length: 1)) }
        try assertClose(first, imageFrame, rtol: 1e-4, atol: 1e-5, "the first frame")
        let videoFrames = try withNoGrad { try video.decode(latents: codes) }
        XCTAssertEqual(videoFrames.size(2), 5)
        try assertClose(videoFrames, videoFrames.narrow(2, start: 0, length: 1).expand([1, 3, 5, 16, 16]), rtol: 1e-4, atol: 1e-5, "a still clip decodes still")
    }

    func testAWarmStartFromTheImageVersionInflatesAndAnotherModelIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-inflate-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("image.safetensors")
        let image = try VideoTokenizer(config: TokenizerConfig.tiny.imageVersion)
        try image.save(to: file)
        let video = try VideoTokenizer(config: .tiny)
        try video.startFrom(file)
        let name = "encoder.conv_in.weight"
        let kernel = try XCTUnwrap(video.store[name])
        XCTAssertEqual(try kernel.narrow(2, start: 0, length: 2).abs().max().item(), 0)
        try assertClose(kernel.select(2, 2), XCTUnwrap(image.store[name]).select(2, 0), atol: 0)

        var wider = TokenizerConfig.tiny
        wider.baseChannels = 16
        let other = folder.appendingPathComponent("other.safetensors")
        try VideoTokenizer(config: wider.imageVersion).save(to: other)
        XCTAssertThrowsError(try VideoTokenizer(config: .tiny).startFrom(other)) { error in
            XCTAssertTrue("\(error)".contains("another network"), "\(error)")
            XCTAssertTrue("\(error)".contains("baseChannels 16 vs 8"), "\(error)")
        }

        // The quantizer's loss settings shape the training, not the weights: a warm start may change them.
        var lowEntropy = TokenizerConfig.tiny
        lowEntropy.quantizer.lfq.entropyWeight = 0.01
        lowEntropy.quantizer.lfq.annealRatio = 0
        lowEntropy.quantizer.commitmentWeight = 0.5
        let same = folder.appendingPathComponent("same.safetensors")
        let trained = try VideoTokenizer(config: .tiny)
        try trained.save(to: same)
        let fineTuned = try VideoTokenizer(config: lowEntropy)
        try fineTuned.startFrom(same)
        XCTAssertEqual(try fineTuned.weightsHash(), try trained.weightsHash())
    }
}
