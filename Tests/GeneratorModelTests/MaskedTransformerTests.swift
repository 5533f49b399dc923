// The masked token model: factorized ids, guidance, decoding invariants, determinism, and that a
// tiny model learns a handful of sequences.
import GeneratorModel
import NN
import TestSupport
import Torch
import XCTest

final class MaskedTransformerTests: XCTestCase {
    func testFactorizedIdsReassembleExactly() throws {
        let ids = try Tensor.randint(0, 1 << 18, [4, 100])
        for bits in [[9, 9], [6, 12], [18]] {
            let f = TokenFactorization(bits: bits)
            let parts = try f.split(ids)
            XCTAssertEqual(parts.count, bits.count)
            for (part, size) in zip(parts, f.sizes) {
                XCTAssertGreaterThanOrEqual(try part.min().item(), 0)
                XCTAssertLessThan(try part.max().item(), Double(size))
            }
            XCTAssertEqual(try f.join(parts).toArray(Int64.self), try ids.toArray(Int64.self), "\(bits)")
            // One id at a time (the codec's path) splits as the tensors do and joins back.
            let columns = try parts.map { try $0.toArray(Int64.self) }
            for (i, id) in try ids.toArray(Int64.self).enumerated() {
                XCTAssertEqual(f.split(Int(id)), columns.map { Int($0[i]) })
                XCTAssertEqual(f.join(f.split(Int(id))), Int(id))
            }
        }
        // 0b101010000000_000011: low 6 bits 3, high 12 bits 0b101010000000 = 2688.
        XCTAssertEqual(try TokenFactorization(bits: [6, 12]).split(Tensor([Int64(0b101010_000000_000011)])).map { try $0.item() }, [3, 2688])
        XCTAssertEqual(TokenFactorization(bits: [6, 12]).split(0b101010_000000_000011), [3, 2688])
    }

    func testGuidanceFormula() throws {
        let c = try Tensor([Float(2), -1, 0.5]), u = try Tensor([Float(1), 1, 0.5])
        try assertClose(MaskedTransformer.guided(c, u, scale: 0), c, rtol: 0, atol: 0)
        try assertClose(MaskedTransformer.guided(c, u, scale: 1.5), Tensor([Float(3.5), -4, 0.5]), rtol: 0, atol: 1e-6)
    }

    func testDecodingFillsEveryPositionKeepsGivenFramesAndIsSeeded() throws {
        var config = GeneratorConfig()
        config.vocabularyBits = 8; config.factorBits = [3, 5]; config.grid = [3, 4, 4]; config.conditionFrames = 1
        config.width = 32; config.depth = 1; config.heads = 2
        Torch.manualSeed(1)
        let model = try MaskedTransformer(config: config)
        let given = try Tensor.randint(0, 256, [2, 16])
        var steps: [Int] = []
        let out = try model.sample(count: 2, given: given, options: SamplingOptions(steps: 5, seed: 9)) { steps.append($0) }
        XCTAssertEqual(steps, [0, 1, 2, 3, 4])
        XCTAssertEqual(out.shape, [2, 48])
        XCTAssertEqual(try out.narrow(1, start: 0, length: 16).toArray(Int64.self), try given.toArray(Int64.self), "given frames unchanged")
        XCTAssertGreaterThanOrEqual(try out.min().item(), 0)
        XCTAssertLessThan(try out.max().item(), 256)
        let again = try model.sample(count: 2, given: given, options: SamplingOptions(steps: 5, seed: 9))
        XCTAssertEqual(try again.toArray(Int64.self), try out.toArray(Int64.self), "same seed, same tokens")
        let other = try model.sample(count: 2, given: given, options: SamplingOptions(steps: 5, seed: 10))
        XCTAssertNotEqual(try other.toArray(Int64.self), try out.toArray(Int64.self))
        XCTAssertThrowsError(try model.sample(count: 2, options: SamplingOptions(steps: 5))) { XCTAssertTrue("\($0)".contains("predicts frames"), "\($0)") }
        XCTAssertThrowsError(try model.sample(count: 2, classes: [0, 1], given: given)) { XCTAssertTrue("\($0)".contains("not class-conditional"), "\($0)") }
    }

    /// Each step commits exactly the tokens the cosine schedule says, one step fills everything.
    func testEachStepUnmasksPerTheSchedule() throws {
        var config = GeneratorConfig()
        config.vocabularyBits = 4; config.factorBits = [4]; config.grid = [1, 6, 6]; config.width = 16; config.depth = 1; config.heads = 2
        let model = try MaskedTransformer(config: config)
        for steps in [1, 3, 8] {
            let out = try model.sample(count: 3, options: SamplingOptions(steps: steps, seed: 1))
            XCTAssertEqual(out.shape, [3, 36])
        }
        let counts = (0..<8).map { MaskSchedule.maskedAfterStep($0, of: 8, count: 36) }
        XCTAssertEqual(counts.last, 0)
        XCTAssertEqual(counts, counts.sorted(by: >), "masked counts fall: \(counts)")
    }

    /// Four class-conditional sequences of 16 tokens with 2+2-bit factors: after training, sampling
    /// each class returns its sequence.
    func testTinyModelOverfitsAHandfulOfSequences() throws {
        var config = GeneratorConfig()
        config.vocabularyBits = 4; config.factorBits = [2, 2]; config.grid = [1, 4, 4]; config.classes = 4
        config.width = 64; config.depth = 2; config.heads = 4; config.dropout = 0; config.conditionDropout = 0; config.labelSmoothing = 0
        Torch.manualSeed(3)
        let model = try MaskedTransformer(config: config)
        let sequences = try Tensor.randint(0, 16, [4, 16])
        let classes = try Tensor([Int64(0), 1, 2, 3])
        let optimizer = AdamW(model.store.parameters, learningRate: 3e-3, weightDecay: 0)
        var first = 0.0, last = 0.0
        for step in 0..<250 {
            try optimizer.zeroGrad()
            let l = try model.maskedLoss(tokens: sequences, classes: classes)
            try l.loss.backward()
            try optimizer.update()
            if step == 0 { first = try l.loss.item() }
            last = try l.loss.item()
        }
        XCTAssertLessThan(last, 0.1 * first, "loss \(first) -> \(last)")
        let out = try model.sample(count: 4, classes: [0, 1, 2, 3], options: SamplingOptions(steps: 8, temperature: 0.5, seed: 4))
        let same = zip(try out.toArray(Int64.self), try sequences.toArray(Int64.self)).filter { $0 == $1 }.count
        XCTAssertGreaterThanOrEqual(same, 60, "\(same) of 64 tokens reproduced")
    }
}
