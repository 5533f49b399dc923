// docs/extending.md, proven: a data source, a quantizer and a prior, each one type and one
// registration line in this one file, used through the library's own paths: the tokenizer recipe
// trains on the toy source with the toy quantizer (`magvit train` does the same), the trained file
// loads again, and its tokens are compressed under the toy prior and decoded by the kind the stream
// records. (A training recipe in one file: HarnessTests/RecipeTests.swift.)
import Codec
import Compression
import Dataset
import Foundation
import Harness
import NN
import TestSupport
import Tokenizer
import Torch
import TokenizerTraining
import XCTest

/// A data source: still images of one coloured square on a grey field, each a pure function of
/// (seed, step, row).
final class SquareSource: ShardedClipSource {
    let shape: ClipShape, seed: UInt64
    init(config: DataConfig, shape: ClipShape, seed: UInt64) throws { (self.shape, self.seed) = (shape, seed) }
    var summary: String { "squares" }
    var count: Int? { nil }
    var classes: Int { 0 }
    func batch(step: Int, rows: [Int]) throws -> Clips {
        let s = shape.size
        return Clips(clips: try stacked(rows.map { row in
            var random = SeededRandom(seed: seed, step: step, example: row)
            let (x, y, side) = (Int(random.uniform() * Double(s / 2)), Int(random.uniform() * Double(s / 2)), s / 4 + Int(random.uniform() * Double(s / 4)))
            let pixels = (0..<(shape.channels * s * s)).map { i -> Float in
                let (c, p) = (i / (s * s), i % (s * s))
                let inside = (x..<(x + side)).contains(p % s) && (y..<(y + side)).contains(p / s)
                return inside ? Float(c % 2 == 0 ? 0.8 : -0.6) : 0
            }
            return try Tensor(pixels, shape: [shape.channels, 1, s, s])
        }))
    }
    func heldOut(limit: Int) throws -> Clips? { try batch(step: -1, rows: Array(0..<limit)) }
}

/// A quantizer: each latent channel to its sign (as LFQ), with a hinge that pushes latents at least
/// `margin` from zero instead of LFQ's entropy terms; its setting is the section `sign-hinge`.
final class SignHingeQuantizer: Quantizer {
    let config: QuantizerConfig
    init(config: QuantizerConfig) { self.config = config }
    func powers(_ z: Tensor) throws -> Tensor { try Tensor.arange(0, Double(config.bits), device: z.device).reshape([1, config.bits, 1, 1, 1]) }
    func ids(_ z: Tensor) throws -> Tensor { try z.gt(0).to(.int64).shiftedLeft(powers(z)).sum(dim: 1) }
    func codes(_ ids: Tensor) throws -> Tensor {
        try ids.unsqueeze(1).shiftedRight(powers(ids)).bitwiseAnd(1).to(.float32) * 2 - 1
    }
    func callAsFunction(_ z: Tensor, step: Int, losses: Bool) throws -> Quantization {
        let q = try z.gt(0).to(z.dtype) * 2 - 1
        var terms = LossTerms()
        if losses {
            let margin = config.settings(of: "sign-hinge")["margin"]!
            try terms.add("hinge", (z.abs() * -1 + margin).clamp(min: 0).mean(), weight: 1)
        }
        return Quantization(latents: try z + (q - z).detach(), ids: try ids(z), terms: terms,
                            loss: try terms.total() ?? Tensor.zeros([]), codebookSize: config.codebookSize)
    }
}

/// A prior: every token coded as equally likely (the rate of the raw bits), nothing to fill with but 0.
final class UniformPrior: TokenPrior {
    let identity: PriorIdentity, table: FrequencyTable
    init(bits: Int) throws {
        guard bits <= 16 else { throw CompressionError("the uniform prior codes at most 16-bit tokens") }
        identity = PriorIdentity(kind: "uniform", factorBits: [bits])
        table = FrequencyTable(frequencies: [UInt32](repeating: 1, count: 1 << bits))
    }
    func code<C: SymbolCoder>(_ clip: inout ClipIds, positions: [Int], values: [Int], coder: inout C) throws {
        for (p, id) in zip(positions, values) { clip.ids[p] = try coder.code(id, table) }
    }
    func fill(_ clip: inout ClipIds, positions: [Int]) throws { for p in positions { clip.ids[p] = 0 } }
}

/// The three registration lines.
func registerToys() {
    DataSources.register("squares", images: true) { try SquareSource(config: $0, shape: $1, seed: $2) }
    Quantizers.register("sign-hinge", settings: ["margin": 0.5]) { _, config in SignHingeQuantizer(config: config) }
    Priors.register("uniform") { try UniformPrior(bits: $0) }
}

final class ExtensionTests: XCTestCase {
    func testAToySourceQuantizerAndPriorWorkThroughTheLibrary() throws {
        registerToys()
        Recipes.register(TokenizerTrainer.self)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-extension-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }

        // The tokenizer recipe on the toy source with the toy quantizer; its setting from the config.
        let config = folder.appendingPathComponent("toy.yaml")
        try """
            model: {preset: image-small, baseChannels: 8, resolution: 16, quantizer: {kind: sign-hinge, bits: 6, sign-hinge: {margin: 0.25}}}
            data: {kind: squares, evalSamples: 2}
            run: {steps: 3, batch: 2, threads: 1, evalEvery: 3, logEvery: 1}
            """.write(to: config, atomically: true, encoding: .utf8)
        let run = folder.appendingPathComponent("run")
        var lines: [String] = []
        try Recipes.named(TokenizerTrainer.name).train(config, [], run, false, { _ in nil }, { lines.append($0) })
        let log = try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8)
        XCTAssertTrue(log.contains("\"hinge\""), "the toy quantizer's loss term is logged: \(log)")
        let model = try VideoTokenizer.load(from: run.appendingPathComponent("tokenizer.safetensors"))
        XCTAssertTrue(model.quantizer is SignHingeQuantizer)
        XCTAssertEqual(model.config.quantizer.settings(of: "sign-hinge"), ["margin": 0.25])
        // Files record only their own kind's section: a registration changes no other config's encoding.
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(TokenizerConfig.videoSmall), as: UTF8.self).contains("sign-hinge"))
        XCTAssertThrowsError(try TokenizerTrainingConfig.parse("model: {preset: image-small, quantizer: {kind: sign-hinge, sign-hinge: {margni: 1}}}\ndata: {kind: squares}\n")) { error in
            XCTAssertTrue("\(error)".contains("unknown setting 'model.quantizer.sign-hinge.margni'"), "\(error)")
        }

        // Its tokens under the toy prior: the stream records "uniform" and decodes by it.
        let source = try SquareSource(config: DataConfig(), shape: ClipShape(channels: 1, frames: 1, size: 16), seed: 1)
        let ids = try model.encode(source.batch(step: 0, rows: [0]).clips)  // (1, 1, 4, 4)
        let header = TokenFile.Header(
            tokenizer: .init(name: model.config.name, config: model.config, weights: try model.weightsHash()), bits: 6, t: 1, h: 4, w: 4,
            chunks: [.init(frames: 1, latentFrames: 1)],
            source: .init(file: "squares", width: 16, height: 16, frameRateNumerator: 1, frameRateDenominator: 1, tokenizedWidth: 16, tokenizedHeight: 16))
        let file = try TokenFile(header: header, ids: try ids.flatten().toArray(Int64.self))
        let prior = try PriorChoice.named("uniform").prior(tokenizerWeights: try model.weightsHash(), bits: 6)
        let (stream, _) = try TokenCompressor.compress(file, prior: prior)
        let read = try CompressedStream(decoding: try stream.encoded())
        XCTAssertEqual(read.header.prior.kind, "uniform")
        let decoder = try PriorChoice.shipped.prior(tokenizerWeights: try model.weightsHash(), bits: 6, recorded: read.header.prior)
        XCTAssertEqual(try TokenCompressor.decompress(read, prior: decoder).ids, file.ids)
        XCTAssertThrowsError(try PriorChoice.named("uniformm").prior(tokenizerWeights: "", bits: 6)) { error in
            XCTAssertTrue("\(error)".contains("unknown prior 'uniformm'") && "\(error)".contains("uniform"), "\(error)")
        }
    }
}
