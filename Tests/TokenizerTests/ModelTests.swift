// The tokenizer as a model: causality, shapes for images and 4k+1-frame videos, input validation,
// the cost table, and that it learns.
import Foundation
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

final class ModelTests: XCTestCase {
    override func setUp() { Torch.manualSeed(3) }

    /// tiny: 5 frames → 3 latent frames (temporal factor 2), 16×16 → 4×4.
    private func tinyModel() throws -> VideoTokenizer { try VideoTokenizer(config: .tiny) }

    func testFirstLatentFrameOfAVideoIsTheImageOfItsFirstFrame() throws {
        let model = try tinyModel()
        let video = try Tensor.rand([2, 3, 5, 16, 16]) * 2 - 1
        let tokens = try model.encode(video)
        XCTAssertEqual(tokens.shape, [2, 3, 4, 4])
        let image = try video.select(2, 0)  // (B, C, H, W)
        let imageTokens = try model.encode(image)
        XCTAssertEqual(imageTokens.shape, [2, 1, 4, 4])
        XCTAssertEqual(try tokens.narrow(1, start: 0, length: 1).toArray(Int64.self), try imageTokens.toArray(Int64.self))
        let latents = try withNoGrad { try model.latents(video) }
        let imageLatents = try withNoGrad { try model.latents(image) }
        try assertClose(latents.narrow(2, start: 0, length: 1), imageLatents, rtol: 1e-4, atol: 1e-5)
    }

    func testChangingFrameKNeverChangesEarlierLatentFrames() throws {
        for padding in [TemporalPadding.zeros, .replicate] {
            var config = TokenizerConfig.tiny
            config.temporalPadding = padding
            let model = try VideoTokenizer(config: config)
            let video = try Tensor.rand([1, 3, 5, 16, 16]) * 2 - 1
            let base = try withNoGrad { try model.latents(video) }
            for k in 0..<5 {
                // Frame k belongs to latent frame ⌈k/2⌉; latent frames before it must not move.
                let changed = try video.clone()
                try changed.narrow(2, start: k, length: 1).copy_(Tensor.rand([1, 3, 1, 16, 16]) * 2 - 1)
                let latents = try withNoGrad { try model.latents(changed) }
                let unaffected = (k + 1) / 2
                if unaffected > 0 {
                    try assertClose(latents.narrow(2, start: 0, length: unaffected), base.narrow(2, start: 0, length: unaffected),
                                    rtol: 1e-5, atol: 1e-6, "frame \(k), \(padding) padding")
                }
                let moved = try (latents.narrow(2, start: unaffected, length: 1) - base.narrow(2, start: unaffected, length: 1)).abs().max().item()
                XCTAssertGreaterThan(moved, 1e-4, "frame \(k) should change latent frame \(unaffected)")
            }
        }
    }

    func testInflatedKernelsMakeAVideoTokenizerWorkFrameByFrame() throws {
        // Without temporal downsampling, an inflated model's latents of each frame are those of the
        // frame alone; its kernels keep only their last temporal slice, scaled by √kt. (The decoder's
        // adaptive norm takes statistics of the whole clip's latents, so decoded frames are not
        // compared.)
        var config = TokenizerConfig.tiny
        config.temporalDownsamplings = 0
        let model = try VideoTokenizer(config: config)
        let name = "encoder.conv_in.weight"
        let before = try XCTUnwrap(model.store[name]).clone()
        XCTAssertGreaterThan(try model.inflateTemporalKernels(), 10)
        let after = try XCTUnwrap(model.store[name])
        XCTAssertEqual(try after.narrow(2, start: 0, length: 2).abs().max().item(), 0)
        try assertClose(after.select(2, 2), before.select(2, 2) * 3.0.squareRoot(), rtol: 1e-6, atol: 0)
        let video = try Tensor.rand([1, 3, 5, 16, 16]) * 2 - 1
        let latents = try withNoGrad { try model.latents(video) }
        for t in [1, 4] {
            let alone = try video.narrow(2, start: t, length: 1)
            try assertClose(latents.narrow(2, start: t, length: 1), withNoGrad { try model.latents(alone) }, rtol: 1e-4, atol: 1e-5, "latents of frame \(t)")
        }
    }

    func testDecodeGivesBackFourKPlusOneFrames() throws {
        var config = TokenizerConfig.tiny
        config.temporalDownsamplings = 2
        config.channelMultipliers = [1, 2, 2]
        config.clipFrames = 9
        let model = try VideoTokenizer(config: config)
        for frames in [1, 5, 9, 13] {
            let video = try Tensor.rand([1, 3, frames, 16, 16])
            let tokens = try model.encode(video)
            XCTAssertEqual(tokens.shape, [1, 1 + (frames - 1) / 4, 4, 4])
            XCTAssertEqual(try model.decode(tokens).shape, [1, 3, frames, 16, 16], "\(frames) frames")
        }
        // Non-square frames work too.
        XCTAssertEqual(try model.decode(model.encode(Tensor.rand([1, 3, 5, 8, 24]))).shape, [1, 3, 5, 8, 24])
    }

    func testInputsTheConfigCannotTakeAreRefused() throws {
        let model = try tinyModel()
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { _ = try model.encode(Tensor.rand([1, 3, 4, 16, 16])) }.contains("1 + k·2 frames"))
        XCTAssertTrue(message { _ = try model.encode(Tensor.rand([1, 3, 5, 18, 16])) }.contains("divisible by 4, got 18×16"))
        XCTAssertTrue(message { _ = try model.encode(Tensor.rand([1, 1, 5, 16, 16])) }.contains("takes 3 channels, got 1"))
        XCTAssertTrue(message { _ = try model.encode(Tensor.rand([3, 16, 16])) }.contains("expected (B, C, T, H, W)"))
        XCTAssertTrue(message { _ = try model.decode(Tensor([Int64(64)], shape: [1, 1, 1, 1])) }.contains("ids must be in 0..<64, found 64...64"))
        XCTAssertTrue(message { _ = try model.decode(Tensor.zeros([1, 1, 1, 1])) }.contains("must be integers"))
        var bad = TokenizerConfig.tiny
        bad.normGroups = 3
        XCTAssertTrue(message { _ = try VideoTokenizer(config: bad) }.contains("not divisible into 3 norm groups"))
        bad = .tiny
        bad.clipFrames = 4
        XCTAssertTrue(message { _ = try VideoTokenizer(config: bad) }.contains("clipFrames must be 1 + a multiple of 2"))
    }

    func testCheckpointOfAnotherConfigIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-tok-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("tiny.safetensors")
        try tinyModel().store.save(to: url)
        var other = TokenizerConfig.tiny
        other.baseChannels = 16
        XCTAssertThrowsError(try VideoTokenizer(config: other).store.load(from: url)) {
            XCTAssertTrue("\($0)".contains("wrong shape"), "\($0)")
        }
        let same = try VideoTokenizer(config: .tiny)
        try same.store.load(from: url)
    }

    func testFlopsAndParametersOfPresets() throws {
        let model = try VideoTokenizer(config: .imageSmall)
        // conv_in alone: 2·(1·3·3)·32 multiply-adds per output pixel of 32×32.
        let (encode, decode) = try model.flops(frames: 1, height: 32, width: 32)
        XCTAssertGreaterThan(encode, 2 * 9 * 32 * 32 * 32)
        XCTAssertGreaterThan(decode, encode, "the decoder is the heavier half, as in the paper's design")
        // FLOPs scale with the number of pixels.
        let (encode2, _) = try model.flops(frames: 1, height: 64, width: 64)
        XCTAssertEqual(Double(encode2) / Double(encode), 4, accuracy: 0.01)
        // The image-128 preset has Open-MAGVIT2's 2D parameter count for that config.
        XCTAssertGreaterThan(try VideoTokenizer(config: .tiny).parameterCount, 0)
    }

    func testTinyTokenizerLearnsToReconstruct() throws {
        let model = try tinyModel()
        let optimizer = AdamW(model.store.parameters, learningRate: 2e-3, weightDecay: 0)
        let clip = try (Tensor.rand([2, 3, 5, 16, 16]) * 2 - 1)
        var first = 0.0, last = 0.0
        for step in 0..<40 {
            try optimizer.zeroGrad()
            let (reconstruction, q) = try model.reconstruct(clip, step: step)
            let reconstructionLoss = try mseLoss(reconstruction, clip)
            try (reconstructionLoss + q.loss).backward()
            try optimizer.update()
            if step == 0 { first = try reconstructionLoss.item() }
            last = try reconstructionLoss.item()
        }
        XCTAssertLessThan(last, 0.7 * first, "reconstruction loss \(first) -> \(last)")
    }
}
