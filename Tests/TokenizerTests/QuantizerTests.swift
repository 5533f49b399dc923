// Quantizer properties: id/code round trips, bit order, straight-through gradients, grouped codebook
// entropy, annealing, usage statistics, VQ nearest neighbours, and the memory of LFQ at 2^18 codes.
import Foundation
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

final class QuantizerTests: XCTestCase {
    override func setUp() { Torch.manualSeed(5) }

    func testIdsUseChannelZeroAsLeastSignificantBitAndRoundTrip() throws {
        let lfq = LookupFreeQuantizer(config: QuantizerConfig(kind: .lfq, bits: 3))
        // Channels (+, −, +) → bits 1,0,1 → id 1 + 4 = 5; exact zero counts as negative.
        let z = try Tensor([0.3, -0.2, 0.1, 0.0, 0.0, 2.0] as [Float], shape: [2, 3, 1, 1, 1]).transpose(0, 1).contiguous()
            .reshape([1, 3, 1, 1, 2])
        let ids = try lfq.ids(z)
        XCTAssertEqual(try ids.toArray(Int64.self), [5, 4])
        let all = try Tensor.arange(0, 8).reshape([1, 1, 2, 4])
        XCTAssertEqual(try lfq.ids(lfq.codes(all)).toArray(Int64.self), try all.toArray(Int64.self))
        XCTAssertEqual(try lfq.codes(all).abs().min().item(), 1)
    }

    func testGroupedCodebookEntropyEqualsExactWhenGroupsAreIndependent() throws {
        // With every token identical the batch distribution is a product over bits, so the grouped
        // entropy (sum over groups) equals the exact one.
        var config = QuantizerConfig(kind: .lfq, bits: 8)
        config.lfq.entropyGroupBits = 8
        let exact = LookupFreeQuantizer(config: config)
        config.lfq.entropyGroupBits = 3
        let grouped = LookupFreeQuantizer(config: config)
        let flat = try (Tensor.randn([1, 8]) * 0.004).expand([16, 8]).contiguous()
        try assertClose(grouped.codebookEntropy(flat), exact.codebookEntropy(flat), rtol: 1e-3, atol: 1e-4)
        // For real batches the grouped form is an upper bound of the exact entropy (subadditivity).
        let mixed = try Tensor.randn([64, 8]) * 0.004
        XCTAssertGreaterThanOrEqual(try grouped.codebookEntropy(mixed).item(), try exact.codebookEntropy(mixed).item() - 1e-4)
        // Per-sample entropy per bit equals the full softmax over 2^8 codes.
        let codes = try Tensor.arange(0, 256).unsqueeze(0).shiftedRight(Tensor.arange(0, 8).unsqueeze(1)).bitwiseAnd(1).to(.float32) * 2 - 1
        let probabilities = try (matmul(mixed, codes) * (2 / 0.01)).softmax(dim: 1)
        let full = try -(probabilities * (probabilities + 1e-30).log()).sum(dim: 1).mean()
        try assertClose(exact.perSampleEntropy(mixed), full, rtol: 1e-4, atol: 1e-5)
    }

    func testEntropyAnnealingAndLossComposition() throws {
        var config = QuantizerConfig(kind: .lfq, bits: 4)
        config.lfq.annealRatio = 3
        config.lfq.annealSteps = 100
        let lfq = LookupFreeQuantizer(config: config)
        let z = try Tensor.randn([2, 4, 1, 3, 3]) * 0.01
        let start = try lfq(z, step: 0), middle = try lfq(z, step: 50), end = try lfq(z, step: 200)
        let entropy = try start.terms.values["entropy_sample"]!.item() - start.terms.values["entropy_codebook"]!.item()
        let commitment = try start.terms.values["commitment"]!.item() * 0.25
        XCTAssertEqual(try start.loss.item(), 0.1 * 4 * entropy + commitment, accuracy: 1e-5)
        XCTAssertEqual(try middle.loss.item(), 0.1 * 2.5 * entropy + commitment, accuracy: 1e-5)
        XCTAssertEqual(try end.loss.item(), 0.1 * entropy + commitment, accuracy: 1e-5)
    }

    func testLFQMathStaysFloat32UnderAutocast() throws {
        let lfq = LookupFreeQuantizer(config: QuantizerConfig(kind: .lfq, bits: 6))
        let z = try Tensor.randn([1, 6, 1, 4, 4]).to(.bfloat16)
        let q = try withAutocast(device: .cpu, dtype: .bfloat16) { try lfq(z) }
        XCTAssertEqual(q.terms.values["entropy_codebook"]!.dtype, .float32)
        XCTAssertEqual(q.terms.values["entropy_sample"]!.dtype, .float32)
        XCTAssertEqual(q.latents.dtype, .bfloat16)
        XCTAssertFalse(try q.loss.isNaN().item() != 0)
    }

    func testUsageAndPerplexity() throws {
        let ids = try Tensor([Int64(0), 0, 1, 1, 2, 2, 3, 3], shape: [1, 1, 2, 4])
        let usage = try CodebookUsage(ids: ids, codebookSize: 16)
        XCTAssertEqual(usage.used, 4)
        XCTAssertEqual(usage.fraction, 0.25)
        XCTAssertEqual(usage.perplexity, 4, accuracy: 1e-9)
        let skewed = try CodebookUsage(ids: Tensor([Int64(5), 5, 5, 9], shape: [1, 1, 1, 4]), codebookSize: 16)
        XCTAssertEqual(skewed.perplexity, Foundation.exp(-(0.75 * Foundation.log(0.75) + 0.25 * Foundation.log(0.25))), accuracy: 1e-9)
    }

    func testVectorQuantizerPicksNearestCodeAndTrainsTheCodebook() throws {
        let store = ParameterStore()
        var config = QuantizerConfig(kind: .vq, bits: 3)
        config.vq.latentChannels = 2
        let vq = try VectorQuantizer(store.root("quantize"), config: config)
        let table: [Float] = [0, 0, 1, 0, 0, 1, -1, 0, 0, -1, 1, 1, -1, -1, 2, 2]
        try store.load(["quantize.codebook.weight": Tensor(table, shape: [8, 2])])
        let z = try Tensor([0.9, 0.1, -0.2, -0.9, 1.6, 1.7] as [Float], shape: [3, 2]).transpose(0, 1).reshape([1, 2, 1, 1, 3])
        XCTAssertEqual(try vq.ids(z).toArray(Int64.self), [1, 4, 7])
        let zz = try z.clone().requiresGrad(true)
        let q = try vq(zz)
        try assertClose(q.latents.reshape([2, 3]).transpose(0, 1), Tensor([1, 0, 0, -1, 2, 2] as [Float], shape: [3, 2]), atol: 1e-6)
        try q.loss.backward()
        XCTAssertNotNil(try vq.codebook.weight.grad, "the codebook loss trains the codebook")
        XCTAssertNotNil(try zz.grad, "commitment reaches the encoder")
    }

    /// Peak resident memory while computing the full LFQ loss and gradients at 2^18 codes on 4096
    /// tokens. A tokens × 2^18 float tensor alone would be 4 GiB; peers allocate several.
    func testEighteenBitLFQOnFourThousandTokensNeverAllocatesTokensTimesCodebook() throws {
        let lfq = LookupFreeQuantizer(config: QuantizerConfig(kind: .lfq, bits: 18))
        let z = try (Tensor.randn([4, 18, 1, 32, 32]) * 0.01).requiresGrad(true)  // 4096 tokens
        // Reset the kernel's resident high-water mark for this process, then measure the step.
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let before = residentBytes()
        let q = try lfq(z)
        try (q.loss + q.latents.square().mean()).backward()
        let peak = peakResidentBytes()
        XCTAssertNotNil(try z.grad)
        XCTAssertGreaterThan(try q.terms.values["entropy_codebook"]!.item(), 0)
        let growth = peak - before
        print("LFQ 2^18 codes, 4096 tokens, loss + backward: peak resident growth \(growth >> 20) MiB")
        XCTAssertLessThan(growth, 256 << 20, "peak grew by \(growth >> 20) MiB; a 4096 x 2^18 float tensor is 4096 MiB")

        // Control: the exact codebook entropy on only 512 tokens does build 512 × 2^18 tensors (512 MiB
        // each), and the same measurement sees it, so the bound above is not vacuous.
        var exact = QuantizerConfig(kind: .lfq, bits: 18)
        exact.lfq.entropyGroupBits = 18
        let small = try Tensor.randn([2, 18, 1, 16, 16]) * 0.01
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let controlBefore = residentBytes()
        _ = try withNoGrad { try LookupFreeQuantizer(config: exact)(small).loss.item() }
        let controlGrowth = peakResidentBytes() - controlBefore
        print("control, exact entropy on 512 tokens: peak resident growth \(controlGrowth >> 20) MiB")
        XCTAssertGreaterThan(controlGrowth, 400 << 20)
    }
}

/// The process's peak resident set size since the last reset (VmHWM in /proc/self/status).
func peakResidentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb * 1024
}

extension QuantizerTests {
    /// Checkpoints written before the per-kind sections store the quantizer flat; they still load.
    func testFlatQuantizerConfigOfOlderCheckpointsDecodes() throws {
        let flat = """
            {"kind": "vq", "bits": 6, "latentChannels": 4, "commitmentWeight": 0.5, "entropyWeight": 0.02, "diversityGamma": 3,
             "temperature": 0.01, "entropyGroupBits": 9, "annealRatio": 0, "annealSteps": 2000, "codebookWeight": 2}
            """
        let q = try JSONDecoder().decode(QuantizerConfig.self, from: Data(flat.utf8))
        XCTAssertEqual(q.kind, .vq)
        XCTAssertEqual(q.latentChannels, 4)
        XCTAssertEqual(q.vq.codebookWeight, 2)
        XCTAssertEqual(q.lfq.entropyWeight, 0.02)
        XCTAssertEqual(q.lfq.diversityGamma, 3)
        XCTAssertEqual(q.commitmentWeight, 0.5)
        let again = try JSONDecoder().decode(QuantizerConfig.self, from: JSONEncoder().encode(q))
        XCTAssertEqual(again, q)
    }
}
