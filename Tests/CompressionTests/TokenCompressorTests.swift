// Compress → decompress gives exactly the token file's ids, under the adaptive baseline and under a
// (tiny, random) masked transformer with tiles that overlap at the edges; a stream sending part of the
// groups decodes to the ids the compressor predicted; streams of another prior, damaged and cut
// streams are refused with one message.
import Codec
@testable import Compression
import Foundation
import GeneratorModel
import Tokenizer
import Torch
import XCTest

func tokenFile(bits: Int, chunks: [Int], h: Int, w: Int, seed: UInt64, smooth: Bool = false) throws -> TokenFile {
    var g = SeededRandom(seed: seed)
    var config = TokenizerConfig.tiny
    config.quantizer = QuantizerConfig(kind: .lfq, bits: bits)
    let t = chunks.reduce(0, +)
    // Smooth ids (a few values, repeated) compress; uniform ones cannot.
    let palette = (0..<6).map { _ in Int64(g.next() % (UInt64(1) << UInt64(bits))) }
    let limit = UInt64(1) << UInt64(bits)
    var ids: [Int64] = []
    for i in 0..<(t * h * w) {
        let jitter = Int(g.next() % 2)
        ids.append(smooth ? palette[(i / 7 + jitter) % palette.count] : Int64(g.next() % limit))
    }
    let header = TokenFile.Header(
        tokenizer: .init(name: "tiny", config: config, weights: String(repeating: "ab", count: 32)), bits: bits, t: t, h: h, w: w,
        chunks: chunks.map { .init(frames: 1 + ($0 - 1) * config.temporalFactor, latentFrames: $0) },
        source: .init(file: "clip.mp4", width: 40, height: 30, frameRateNumerator: 25, frameRateDenominator: 1,
                      tokenizedWidth: w * config.spatialFactor, tokenizedHeight: h * config.spatialFactor))
    return try TokenFile(header: header, ids: ids)
}

func tinyPrior(bits: Int, factors: [Int], grid: [Int], seed: UInt64 = 1) throws -> MaskedPrior {
    var config = GeneratorConfig()
    config.vocabularyBits = bits; config.factorBits = factors; config.grid = grid
    config.width = 32; config.depth = 1; config.heads = 2
    Torch.manualSeed(seed)
    return try MaskedPrior(model: MaskedTransformer(config: config), name: "tiny-prior")
}

final class TokenCompressorTests: XCTestCase {
    func testAdaptiveRoundTripsAndSkewedIdsShrink() throws {
        for (bits, smooth) in [(6, false), (10, true), (18, true), (18, false)] {
            let file = try tokenFile(bits: bits, chunks: [3, 2], h: 6, w: 7, seed: UInt64(bits))
            let skewed = try tokenFile(bits: bits, chunks: [3, 2], h: 12, w: 14, seed: UInt64(bits), smooth: smooth)
            for f in [file, skewed] {
                let (stream, decoded) = try TokenCompressor.compress(f, prior: AdaptivePrior(bits: bits))
                XCTAssertEqual(decoded, f.ids)
                let back = try TokenCompressor.decompress(CompressedStream(decoding: stream.encoded()), prior: AdaptivePrior(bits: bits))
                XCTAssertEqual(back, f, "\(bits) bits")
            }
            if smooth {
                let (stream, _) = try TokenCompressor.compress(skewed, prior: AdaptivePrior(bits: bits))
                XCTAssertLessThan(stream.payload.count * 8, skewed.ids.count * bits / 2, "few distinct ids cost less than half the raw bits")
            }
        }
    }

    func testMaskedPriorRoundTripsWithOverlappingTiles() throws {
        let prior = try tinyPrior(bits: 8, factors: [3, 5], grid: [3, 4, 4])
        // 6 × 9 tokens: tiles at rows 0, 2 and columns 0, 4, 5 (the last ones shifted back, overlapping).
        XCTAssertEqual(TileLayout.origins(6, tile: 4, step: 4), [0, 2])
        XCTAssertEqual(TileLayout.origins(9, tile: 4, step: 4), [0, 4, 5])
        XCTAssertEqual(TileLayout.origins(3, tile: 4, step: 4), [0])
        XCTAssertEqual(TileLayout.origins(9, tile: 4, step: 2), [0, 2, 4, 5], "the training tiles: every half tile")
        let file = try tokenFile(bits: 8, chunks: [3, 1], h: 6, w: 9, seed: 4, smooth: true)
        for groups in [1, 4, 16] {
            let (stream, decoded) = try TokenCompressor.compress(file, prior: prior, groups: groups)
            XCTAssertEqual(decoded, file.ids)
            let back = try TokenCompressor.decompress(CompressedStream(decoding: stream.encoded()), prior: prior)
            XCTAssertEqual(back.ids, file.ids, "\(groups) groups")
        }
        // A tiny grid (3 × 2 tokens) lies inside one tile, the rest of it masked.
        let small = try tokenFile(bits: 8, chunks: [2], h: 3, w: 2, seed: 5)
        let (stream, _) = try TokenCompressor.compress(small, prior: prior)
        XCTAssertEqual(try TokenCompressor.decompress(stream, prior: prior).ids, small.ids)
        // More latent frames in a clip than the model's grid holds.
        let long = try tokenFile(bits: 8, chunks: [4], h: 3, w: 2, seed: 6)
        XCTAssertThrowsError(try TokenCompressor.compress(long, prior: prior)) { XCTAssertTrue("\($0)".contains("3 latent frames")) }
    }

    func testPartialStreamsDecodeToThePredictedIds() throws {
        let prior = try tinyPrior(bits: 8, factors: [3, 5], grid: [3, 4, 4])
        let file = try tokenFile(bits: 8, chunks: [3], h: 4, w: 8, seed: 9, smooth: true)
        var sizes: [Int] = []
        for sent in [4, 3, 2, 1] {
            let (stream, decoded) = try TokenCompressor.compress(file, prior: prior, groups: 4, sentGroups: sent)
            let back = try TokenCompressor.decompress(CompressedStream(decoding: stream.encoded()), prior: prior)
            XCTAssertEqual(back.ids, decoded, "\(sent) of 4 groups")
            // The sent groups are exact: group 0 of every frame is the (even, even) positions.
            for f in 0..<3 { for y in stride(from: 0, to: 4, by: 2) { for x in stride(from: 0, to: 8, by: 2) {
                let i = (f * 4 + y) * 8 + x
                XCTAssertEqual(back.ids[i], file.ids[i])
            } } }
            sizes.append(stream.payload.count)
        }
        XCTAssertEqual(sizes, sizes.sorted(by: >), "fewer groups, fewer bytes: \(sizes)")
        XCTAssertThrowsError(try TokenCompressor.compress(file, prior: AdaptivePrior(bits: 8), sentGroups: 2)) {
            XCTAssertTrue("\($0)".contains("needs an entropy model"), "\($0)")
        }
    }

    func testOperatingPointsParseScaleAndClimbTheLadder() throws {
        XCTAssertEqual(try OperatingPoint(parsing: "4:2@0.5"), try OperatingPoint(groups: 4, keep: 2, scale: 0.5))
        XCTAssertEqual(try OperatingPoint(parsing: "16:16").description, "16/16 groups")
        XCTAssertEqual(try OperatingPoint(parsing: "4:4@0.5").description, "4/4 groups at 0.5x")
        for bad in ["4:5", "3:1", "4:2@0", "4:2@1.5", "4:2@0.5@0.5", "4", "a:b", "4:2@x"] {
            XCTAssertThrowsError(try OperatingPoint(parsing: bad), bad)
        }
        // Sides rounded to the factor, never below one factor; full scale keeps the size.
        let half = try OperatingPoint(groups: 4, keep: 4, scale: 0.5)
        XCTAssertTrue(half.codedSize(width: 176, height: 144, factor: 8)! == (88, 72))
        XCTAssertTrue(half.codedSize(width: 200, height: 8, factor: 8)! == (104, 8))
        XCTAssertNil(try OperatingPoint(groups: 4, keep: 1).codedSize(width: 176, height: 144, factor: 8))
        // The ladder sends more, or codes larger, at every level.
        let ladder = OperatingPoint.ladder
        for (low, high) in zip(ladder, ladder.dropFirst()) {
            XCTAssertTrue(high.scale > low.scale || (high.scale == low.scale && high.keep > low.keep), "\(low) -> \(high)")
        }
        XCTAssertEqual(ladder.last, try OperatingPoint(groups: 4, keep: 4))
        // Above the lowest level only complete streams: the prior's fill of unsent tokens erased objects
        // (issue 34: full size with 1 of 4 groups lost to half size with all groups at the same bytes).
        XCTAssertTrue(ladder.dropFirst().allSatisfy { $0.keep == $0.groups }, "\(ladder)")
    }

    func testOtherPriorsDamageAndTruncationAreRefused() throws {
        let prior = try tinyPrior(bits: 8, factors: [3, 5], grid: [3, 4, 4])
        let file = try tokenFile(bits: 8, chunks: [3, 2], h: 5, w: 6, seed: 2, smooth: true)
        let (stream, _) = try TokenCompressor.compress(file, prior: prior)
        let other = try tinyPrior(bits: 8, factors: [3, 5], grid: [3, 4, 4], seed: 2)
        XCTAssertThrowsError(try TokenCompressor.decompress(stream, prior: other)) { XCTAssertTrue("\($0)".contains("was coded with 'tiny-prior'"), "\($0)") }
        XCTAssertThrowsError(try TokenCompressor.decompress(stream, prior: AdaptivePrior(bits: 8))) { XCTAssertTrue("\($0)".contains("not the adaptive prior"), "\($0)") }
        // The payload cut short (framing rebuilt, so the coder itself meets the end).
        var cut = stream
        cut.payload = Array(stream.payload.prefix(stream.payload.count / 2))
        XCTAssertThrowsError(try TokenCompressor.decompress(CompressedStream(decoding: cut.encoded()), prior: prior)) {
            XCTAssertTrue("\($0)".contains("truncated") || "\($0)".contains("fail the stream's check"), "\($0)")
        }
        // One payload bit flipped behind a valid file checksum: the ids' CRC catches it.
        var flipped = stream
        flipped.payload[flipped.payload.count / 3] ^= 0x10
        XCTAssertThrowsError(try TokenCompressor.decompress(CompressedStream(decoding: flipped.encoded()), prior: prior)) {
            XCTAssertTrue("\($0)".contains("fail the stream's check") || "\($0)".contains("truncated"), "\($0)")
        }
        // Bytes of the file damaged: the framing's checksum.
        var bytes = try stream.encoded()
        bytes[bytes.count / 2] ^= 1
        XCTAssertThrowsError(try CompressedStream(decoding: bytes)) { XCTAssertTrue("\($0)".contains("checksum mismatch"), "\($0)") }
        XCTAssertThrowsError(try CompressedStream(decoding: try file.encoded())) { XCTAssertTrue("\($0)".contains("does not start with MAGVITCS"), "\($0)") }
    }
}
