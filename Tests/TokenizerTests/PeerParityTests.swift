// Parity with the PyTorch peers on committed fixtures (scripts/fixtures/peer_fixtures.py):
// LFQ against vector-quantize-pytorch and Open-MAGVIT2, a whole Open-MAGVIT2 image tokenizer
// loaded through our name mapping, and `magvit import` of an Open-MAGVIT2 training checkpoint
// (scripts/fixtures/import_fixtures.py) as an image and as a video tokenizer.
import Foundation
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

func fixture(_ name: String) throws -> [String: Tensor] {
    guard let url = Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: "safetensors") else {
        throw TokenizerError.checkpoint("fixture \(name) is missing; run scripts/make-fixtures.sh peers")
    }
    return try SafeTensors.read(url).tensors
}

/// Reverses the low `bits` bits of each id: vector-quantize-pytorch numbers channel 0 as the most significant bit.
func reversedBits(_ ids: Tensor, bits: Int) throws -> Tensor {
    var out = try Tensor.zerosLike(ids)
    for i in 0..<bits {
        out = try out + ids.shiftedRight(i).bitwiseAnd(1).shiftedLeft(bits - 1 - i)
    }
    return out
}

final class PeerParityTests: XCTestCase {
    /// vector-quantize-pytorch's entropies clamp probabilities below 1e-5 before the log, so they equal
    /// the exact ones only while every code probability stays above that (small vocabularies).
    private func checkLFQ(_ name: String, bits: Int, compareClampedEntropies: Bool) throws {
        let f = try fixture(name)
        var config = QuantizerConfig(kind: .lfq, bits: bits)
        config.lfq.entropyGroupBits = bits  // exact codebook entropy, as both peers compute it
        let lfq = LookupFreeQuantizer(config: config)
        let z = try f["z"]!.requiresGrad(true)
        let q = try lfq(z, step: config.lfq.annealSteps)
        // Quantized values, ids (Open-MAGVIT2's bit order is ours), gradient straight through.
        try assertClose(q.latents, f["om2_quantized"]!, rtol: 0, atol: 0, "quantized vs Open-MAGVIT2")
        XCTAssertEqual(try q.ids.toArray(Int64.self), try f["om2_ids"]!.toArray(Int64.self), "ids vs Open-MAGVIT2")
        XCTAssertEqual(try q.ids.toArray(Int64.self), try reversedBits(f["vqp_ids"]!, bits: bits).toArray(Int64.self), "ids vs vector-quantize-pytorch, bit order mapped")
        try assertClose(q.latents, f["vqp_quantized"]!, rtol: 0, atol: 0, "quantized vs vector-quantize-pytorch")
        try (q.latents * f["grad_weights"]!).sum().backward()
        try assertClose(z.grad!, f["om2_grad"]!, rtol: 1e-6, atol: 0, "straight-through gradient")
        // Loss terms.
        try assertClose(q.terms.values["entropy_sample"]!.reshape([1]), f["om2_per_sample"]!, rtol: 1e-5, atol: 1e-6, "per-sample entropy vs Open-MAGVIT2")
        if compareClampedEntropies {
            try assertClose(q.terms.values["entropy_sample"]!.reshape([1]), f["vqp_per_sample"]!, rtol: 1e-5, atol: 1e-6, "per-sample entropy vs vector-quantize-pytorch")
        }
        try assertClose(q.terms.values["entropy_codebook"]!.reshape([1]), f["om2_codebook"]!, rtol: 1e-5, atol: 1e-6, "codebook entropy vs Open-MAGVIT2")
        try assertClose(q.terms.values["commitment"]!.reshape([1]), f["om2_commitment"]!, rtol: 1e-5, atol: 0, "commitment vs Open-MAGVIT2")
        try assertClose(q.terms.values["commitment"]!.reshape([1]), f["vqp_commitment"]!, rtol: 1e-5, atol: 0, "commitment vs vector-quantize-pytorch")
        // vector-quantize-pytorch takes log(max(p, 1e-5)) where the official code (and we) take
        // log(p + 1e-5): for p̄ above 1e-5 the two differ by Σ_c p̄_c·log(1 + 1e-5/p̄_c) ≤ 2^bits·1e-5.
        if compareClampedEntropies {
            let gap = try q.terms.values["entropy_codebook"]!.item() - f["vqp_codebook"]!.item()
            XCTAssertLessThanOrEqual(Swift.abs(gap), Double(1 << bits) * 1e-5 + 1e-5, "codebook entropy vs vector-quantize-pytorch")
        }
        // Open-MAGVIT2's aux loss is per-sample − codebook entropy; with annealing done our weighted loss is
        // 0.1·that + 0.25·commitment.
        let expected = try f["om2_aux"]!.item() * 0.1 + f["om2_commitment"]!.item() * 0.25
        XCTAssertEqual(try q.loss.item(), expected, accuracy: 1e-5 * Swift.abs(expected) + 1e-6)
    }

    func testLFQParityFourBits() throws { try checkLFQ("lfq4", bits: 4, compareClampedEntropies: true) }

    func testLFQParityEighteenBitsExact() throws { try checkLFQ("lfq18", bits: 18, compareClampedEntropies: false) }

    private func openMagvit2Config(temporalKernel: Int) -> TokenizerConfig {
        var c = TokenizerConfig(name: "open-magvit2-tiny")
        c.baseChannels = 32
        c.channelMultipliers = [1, 2]
        c.residualBlocks = 1
        c.normGroups = 32
        c.temporalKernel = temporalKernel
        c.resolution = 16
        c.quantizer = QuantizerConfig(kind: .lfq, bits: 6)
        return c
    }

    func testOpenMagvit2ImageTokenizerParity() throws {
        let io = try fixture("open_magvit2_tiny_io")
        let weights = Bundle.module.url(forResource: "Fixtures/open_magvit2_tiny", withExtension: "safetensors")!
        for kt in [1, 3] {  // their 2D kernels as they are, and inflated into causal 3D kernels
            let model = try VideoTokenizer(config: openMagvit2Config(temporalKernel: kt))
            let report = try model.loadOpenMagvit2(from: weights)
            let kernels = model.store.tensors.filter { $0.tensor.rank == 5 }.count
            XCTAssertEqual(report.inflated, kernels, "every 2D conv kernel becomes a causal 3D one")
            XCTAssertEqual(report.copied, model.store.tensors.count - kernels)
            XCTAssertEqual(report.ignored, [])
            let x = io["x"]!  // (B, 3, 16, 16) images
            let z = try withNoGrad { try model.latents(x) }
            try assertClose(z.squeeze(2), io["z"]!, rtol: 1e-4, atol: 1e-5, "encoder latents, kt=\(kt)")
            let ids = try model.encode(x)
            XCTAssertEqual(try ids.squeeze(1).toArray(Int64.self), try io["ids"]!.toArray(Int64.self), "token ids, kt=\(kt)")
            let reconstruction = try model.decode(ids)
            try assertClose(reconstruction.squeeze(2), io["reconstruction"]!, rtol: 1e-4, atol: 1e-5, "decoder output, kt=\(kt)")
        }
    }

    func testMismatchedOpenMagvit2CheckpointIsRefused() throws {
        let weights = Bundle.module.url(forResource: "Fixtures/open_magvit2_tiny", withExtension: "safetensors")!
        var config = openMagvit2Config(temporalKernel: 1)
        config.channelMultipliers = [1, 2, 2]
        let model = try VideoTokenizer(config: config)
        XCTAssertThrowsError(try model.loadOpenMagvit2(from: weights)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("not an Open-MAGVIT2 checkpoint for open-magvit2-tiny"), text)
            XCTAssertTrue(text.contains("missing encoder.down.2"), text)
        }
    }

    // MARK: magvit import

    private var importCheckpoint: URL { Bundle.module.url(forResource: "Fixtures/open_magvit2_import", withExtension: "ckpt")! }

    /// The fraction of equal ids, and asserts it is at least 99.9 %.
    @discardableResult
    private func checkIds(_ ours: Tensor, _ theirs: Tensor, _ what: String) throws -> Double {
        let a = try ours.toArray(Int64.self), b = try theirs.toArray(Int64.self)
        XCTAssertEqual(a.count, b.count, what)
        let equal = Double(zip(a, b).filter { $0 == $1 }.count) / Double(Swift.max(1, b.count))
        XCTAssertGreaterThanOrEqual(equal, 0.999, "\(what): ids equal on \(equal * 100) % of positions")
        return equal
    }

    func testImportedOpenMagvit2CheckpointMatchesTheirOutput() throws {
        let io = try fixture("open_magvit2_import_io")
        let imported = try WeightImport.run(.openMagvit2, checkpoint: importCheckpoint)
        let model = imported.model
        XCTAssertTrue(imported.usedEMA)
        XCTAssertEqual(model.config.channelMultipliers, [1, 1])
        XCTAssertEqual(model.config.quantizer.bits, 6)
        XCTAssertEqual(model.config.temporalKernel, 1)
        XCTAssertTrue(imported.report.ignored.contains("loss.discriminator.main.0.weight"))
        let record = try JSONSerialization.jsonObject(with: Data(imported.record.utf8)) as! [String: Any]
        XCTAssertEqual(record["format"] as? String, "open-magvit2")
        XCTAssertEqual(record["file"] as? String, "open_magvit2_import.ckpt")
        XCTAssertEqual(record["sha256"] as? String, try WeightImport.sha256(of: importCheckpoint))
        XCTAssertEqual(record["weights"] as? String, "ema")

        let x = try io["x"]!.unsqueeze(2)  // 3 frames as a batch of images (B, 3, 1, 16, 16)
        let ids = try model.encode(x)
        let equal = try checkIds(ids.squeeze(1), io["ids"]!, "token ids (EMA weights)")
        let decoded = try model.decode(ids).squeeze(2)
        let difference = try (decoded - io["reconstruction"]!).abs().max().item()
        XCTAssertLessThanOrEqual(difference, 1e-4, "decoded output")
        print("open-magvit2 image import: ids equal on \(equal * 100) % of \(io["ids"]!.count) positions, decoded max abs difference \(difference)")

        // The training weights, when asked for, are theirs too.
        let raw = try WeightImport.run(.openMagvit2, checkpoint: importCheckpoint, options: ImportOptions(useEMA: false))
        XCTAssertFalse(raw.usedEMA)
        try checkIds(raw.model.encode(x).squeeze(1), io["raw_ids"]!, "token ids (training weights)")
        XCTAssertNotEqual(try raw.model.encode(x).toArray(Int64.self), try ids.toArray(Int64.self))
    }

    func testImportedOpenMagvit2CheckpointAsAVideoTokenizer() throws {
        let io = try fixture("open_magvit2_import_io")
        let frames = try io["x"]!.permute([1, 0, 2, 3]).unsqueeze(0)  // the 3 frames as one clip (1, 3, 3, 16, 16)
        // Without temporal downsampling the inflated model codes each frame as their image model does.
        let perFrame = try WeightImport.run(.openMagvit2, checkpoint: importCheckpoint, options: ImportOptions(video: VideoInflation(temporalDownsamplings: 0)))
        XCTAssertEqual(perFrame.model.config.temporalKernel, 3)
        let ids = try perFrame.model.encode(frames)  // (1, 3, 8, 8)
        let equal = try checkIds(ids.squeeze(0), io["ids"]!, "token ids of the clip")
        // Each latent frame alone decodes to their frame (over a whole clip the adaptive norm's statistics span the clip).
        var difference = 0.0
        for t in 0..<3 {
            let frame = try perFrame.model.decode(ids.narrow(1, start: t, length: 1)).squeeze(2).squeeze(0)
            difference = Swift.max(difference, try (frame - io["reconstruction"]!.select(0, t)).abs().max().item())
        }
        XCTAssertLessThanOrEqual(difference, 1e-4, "decoded frames")
        print("open-magvit2 video import (frame by frame): ids equal on \(equal * 100) %, decoded max abs difference \(difference)")

        // Time halved in the last level (the fixture has two; the paper's 128 model halves it in two of four):
        // a still clip of their first frame gives their ids in every latent frame.
        let video = try WeightImport.run(.openMagvit2, checkpoint: importCheckpoint, options: ImportOptions(video: VideoInflation(temporalDownsamplings: 1)))
        XCTAssertEqual(video.model.config.clipFrames, 9)
        let record = try JSONSerialization.jsonObject(with: Data(video.record.utf8)) as! [String: Any]
        XCTAssertEqual((record["video"] as? [String: Int])?["temporal_downsamplings"], 1)
        let still = try frames.narrow(2, start: 0, length: 1).expand([1, 3, 9, 16, 16]).contiguous()
        let stillIds = try video.model.encode(still)  // (1, 5, 8, 8)
        XCTAssertEqual(stillIds.size(1), 5)
        for t in 0..<5 { try checkIds(stillIds.select(1, t).squeeze(0), io["ids"]!.select(0, 0), "latent frame \(t) of a still clip") }
    }

    func testImportRefusesOtherFormatsNamingTheFirstDifference() throws {
        // Open-MAGVIT2's checkpoint named as another format.
        for (format, expected) in [(ImportFormat.magvit2PyTorch, "no conv_in.conv.weight"), (.o2Magvit2, "no decoder.cond_norm_layers")] {
            XCTAssertThrowsError(try WeightImport.run(format, checkpoint: importCheckpoint)) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
        // State dicts laid out as theirs (names and shapes of their modules).
        let lucidrains: [String: Tensor] = ["conv_in.conv.weight": try Tensor.zeros([64, 3, 7, 7, 7]), "encoder_layers.0.fn.0.conv.weight": try Tensor.zeros([64, 64, 3, 3, 3])]
        XCTAssertTrue("\(Magvit2PyTorch.refusal(lucidrains))".contains("conv_in.conv.weight is a 7×7×7 kernel"))
        var three = lucidrains
        three["conv_in.conv.weight"] = try Tensor.zeros([64, 3, 3, 3, 3])
        XCTAssertTrue("\(Magvit2PyTorch.refusal(three))".contains("encoder_layers.0"))
        let o2: [String: Tensor] = ["decoder.cond_norm_layers.cond_norm_0.gamma.weight": try Tensor.zeros([512, 18])]
        XCTAssertTrue("\(O2Magvit2.refusal(o2))".contains("per-position adaptive group norm"))
        // A file of no known kind, and an Open-MAGVIT2 layout Magvit cannot build.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-import-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("notes.ckpt")
        try Data("not a checkpoint".utf8).write(to: text)
        XCTAssertThrowsError(try WeightImport.run(.openMagvit2, checkpoint: text)) { error in
            XCTAssertTrue("\(error)".contains("neither a PyTorch zip checkpoint"), "\(error)")
        }
        let video = folder.appendingPathComponent("video.safetensors")
        try SafeTensors.write(["encoder.conv_in.weight": try Tensor.zeros([32, 3, 3, 3, 3])], to: video)
        XCTAssertThrowsError(try WeightImport.run(.openMagvit2, checkpoint: video)) { error in
            XCTAssertTrue("\(error)".contains("video tokenizers are not supported"), "\(error)")
        }
        // A truncated checkpoint is refused, not read past its end.
        let whole = try Data(contentsOf: importCheckpoint)
        let cut = folder.appendingPathComponent("cut.ckpt")
        try whole.prefix(whole.count / 2).write(to: cut)
        XCTAssertThrowsError(try WeightImport.run(.openMagvit2, checkpoint: cut))
    }
}
