// One compression pipeline for the tool and the library (issue 33): `magvit compress` writes the very
// bytes `CompressionPipeline` makes of the same clip, prior and operating point, `decompress` gives the
// tokens the pipeline decodes, and the baseline's adaptive frequencies start afresh for every stream.
import Codec
import Compression
import Foundation
import GeneratorModel
import Harness
import Media
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

final class CompressionPipelineTests: XCTestCase {
    func testTheToolWritesThePipelinesStreams() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-pipeline-\(getpid())-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        try SyntheticData.writeVideo(to: folder.appendingPathComponent("in.mkv"), frames: 9, size: 64)
        Torch.manualSeed(8)
        let tokenizer = try VideoTokenizer(config: .tiny)
        try tokenizer.save(to: folder.appendingPathComponent("tiny.safetensors"))
        let codec = try VideoCodec(model: VideoTokenizer.load(from: folder.appendingPathComponent("tiny.safetensors")))
        let prior = try writeTestPrior(folder.appendingPathComponent("prior.safetensors"), tokenizerHash: codec.weightsHash, seed: 1)
        let model = ["--checkpoint", path("tiny.safetensors")]

        // The lowest quality level (half size, 2 of 4 groups) under the model, a complete one under the baseline.
        let cases: [(name: String, options: [String], choice: PriorChoice, point: OperatingPoint)] = [
            ("q1", ["--quality", "1", "--prior", prior.path], .file(prior), OperatingPoint.ladder[0]),
            ("q3", ["--quality", "3", "--baseline"], .baseline, OperatingPoint.ladder[2]),
        ]
        for c in cases {
            var r = try magvit(["compress", path("in.mkv"), "-o", path("\(c.name).mgvc")] + c.options + model)
            XCTAssertEqual(r.status, 0, r.output)
            let pipeline = try CompressionPipeline(codec: codec, prior: c.choice)
            let tokens = try pipeline.tokens(ofVideo: path("in.mkv"), at: c.point)
            let compressed = try pipeline.compress(tokens, at: c.point)
            XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent("\(c.name).mgvc")), compressed.data, c.name)
            XCTAssertTrue(r.output.contains("\(compressed.data.count) bytes: " + String(format: "%.4f bits per pixel", compressed.bitsPerPixel)), r.output)
            XCTAssertEqual(try pipeline.compress(tokens, at: c.point).data, compressed.data, "\(c.name): a second stream of the same pipeline")

            r = try magvit(["decompress", path("\(c.name).mgvc"), "-o", path("\(c.name).mgvt")] + Array(c.options.dropFirst(2)) + model)
            XCTAssertEqual(r.status, 0, r.output)
            let decoded = try TokenFile(contentsOf: folder.appendingPathComponent("\(c.name).mgvt"))
            XCTAssertEqual(decoded, try pipeline.decompress(compressed.stream), c.name)
            XCTAssertEqual(decoded.ids, compressed.decoded, c.name)
        }
        XCTAssertLessThan(try CompressedStream(contentsOf: folder.appendingPathComponent("q1.mgvc")).header.sentGroups, 4)
    }

    /// The prior a stream records decides for a decoder: a baseline stream decodes with the baseline
    /// whatever the choice but a named model, and a model's stream needs the model named when the
    /// shipped prior is not it.
    func testTheRecordedPriorDecidesForADecoder() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-pipeline-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let prior = try writeTestPrior(folder.appendingPathComponent("prior.safetensors"), tokenizerHash: "aaaa", seed: 1)
        let baseline = AdaptivePrior(bits: 6).identity
        XCTAssertTrue(try PriorChoice.shipped.prior(tokenizerWeights: "aaaa", bits: 6, recorded: baseline) is AdaptivePrior)
        XCTAssertThrowsError(try PriorChoice.file(prior).prior(tokenizerWeights: "aaaa", bits: 6, recorded: baseline))
        let named = try PriorChoice.file(prior).prior(tokenizerWeights: "aaaa", bits: 6)
        XCTAssertEqual(named.identity.name, "prior.safetensors")
        XCTAssertTrue(try PriorChoice.baseline.prior(tokenizerWeights: "aaaa", bits: 6, recorded: named.identity) is AdaptivePrior)
        if ProcessInfo.processInfo.environment["MAGVIT_PRIOR"] == nil {
            // The shipped prior, where there is one, models the shipped tokenizer's tokens, not "aaaa"'s.
            XCTAssertThrowsError(try PriorChoice.shipped.prior(tokenizerWeights: "aaaa", bits: 6, recorded: named.identity)) { error in
                XCTAssertTrue(error is PriorNotNamed && "\(error)".contains("'prior.safetensors'"), "\(error)")
            }
        }
    }
}

/// A generator file of random weights for the tokenizer of `tokenizerHash` (6-bit tokens, grid [3, 4, 4]).
func writeTestPrior(_ url: URL, tokenizerHash: String, seed: UInt64) throws -> URL {
    var config = GeneratorConfig()
    config.vocabularyBits = 6; config.factorBits = [3, 3]; config.grid = [3, 4, 4]
    config.width = 16; config.depth = 1; config.heads = 2
    Torch.manualSeed(seed)
    let model = try MaskedTransformer(config: config)
    try SafeTensors.write(model.store.snapshot(), metadata: ["magvit.format": "generator-v1", "generator_config": try ConfigFile.json(config),
                                                             "tokenizer_hash": tokenizerHash], to: url)
    return url
}
