// Parity with the PyTorch peers on committed fixtures (scripts/fixtures/peer_fixtures.py):
// LFQ against vector-quantize-pytorch and Open-MAGVIT2, and a whole Open-MAGVIT2 image tokenizer
// loaded through our name mapping.
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
}
