// The token file: bit-exact round trips, packing at every width, and a seeded fuzz of mutations and
// truncations that must end in thrown errors only.
@testable import Codec
import Foundation
import TestSupport
import Tokenizer
import Torch
import XCTest

func sampleTokenFile(bits: Int = 6, t: Int = 3, h: Int = 4, w: Int = 5, seed: UInt64 = 1) throws -> TokenFile {
    var generator = SplitMix64(seed: seed)
    var config = TokenizerConfig.tiny
    config.quantizer = QuantizerConfig(kind: .lfq, bits: bits)
    let ids = (0..<(t * h * w)).map { _ in Int64(generator.next() % (UInt64(1) << UInt64(bits))) }
    let header = TokenFile.Header(
        tokenizer: .init(name: "tiny", config: config, weights: String(repeating: "ab", count: 32)), bits: bits, t: t, h: h, w: w,
        chunks: [.init(frames: 1 + (t - 2) * config.temporalFactor, latentFrames: t - 1), .init(frames: 1, latentFrames: 1)],
        source: .init(file: "clip.mp4", width: 40, height: 30, frameRateNumerator: 30000, frameRateDenominator: 1001,
                      tokenizedWidth: w * config.spatialFactor, tokenizedHeight: h * config.spatialFactor))
    return try TokenFile(header: header, ids: ids)
}

final class TokenFileTests: XCTestCase {
    func testRoundTripIsBitExactAtEveryWidth() throws {
        for bits in [1, 2, 6, 7, 10, 13, 18, 30] {
            let file = try sampleTokenFile(bits: bits, seed: UInt64(bits))
            let data = try file.encoded()
            let back = try TokenFile(decoding: data)
            XCTAssertEqual(back, file, "\(bits) bits")
            XCTAssertEqual(try back.encoded(), data, "re-encoding gives the same bytes")
            XCTAssertEqual(data.count, 20 + (data.count - 20 - (3 * 4 * 5 * bits + 7) / 8) + (3 * 4 * 5 * bits + 7) / 8)
        }
        // The CRC is zlib's: the standard check value of "123456789".
        XCTAssertEqual(crc32(Data("123456789".utf8)), 0xCBF4_3926)
    }

    func testFilesOnDiskAndErrors() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-tokens-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("a.mgvt")
        let file = try sampleTokenFile()
        try file.write(to: url)
        XCTAssertEqual(try TokenFile(contentsOf: url), file)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["a.mgvt"])
        func message(_ data: Data) -> String {
            do { _ = try TokenFile(decoding: data); return "accepted" } catch { return "\(error)" }
        }
        var data = try file.encoded()
        XCTAssertTrue(message(data.prefix(10)).contains("at least 20"))
        XCTAssertTrue(message(Data("MAGVITOX".utf8) + data.dropFirst(8)).contains("does not start with MAGVITOK"))
        data[8] = 2
        XCTAssertTrue(message(data).contains("version 2 is not supported"))
        XCTAssertTrue(message(try file.encoded().dropLast(3)).contains("corrupt or truncated"))
        XCTAssertThrowsError(try TokenFile(contentsOf: folder.appendingPathComponent("missing.mgvt"))) {
            XCTAssertTrue("\($0)".contains("no such file"))
        }
    }

    /// Thousands of seeded mutations and truncations: every one either decodes (a mutation can
    /// leave the file valid only if it hit nothing, which the CRC rules out) or throws TokenFileError.
    func testFuzzedFilesOnlyThrow() throws {
        let good = try sampleTokenFile(bits: 10, t: 4, h: 6, w: 6).encoded()
        var generator = SplitMix64(seed: 2024)
        var rejected = 0
        let start = Date()
        for round in 0..<4000 {
            var data = good
            switch round % 4 {
            case 0: data = data.prefix(Int(generator.next() % UInt64(data.count)))
            case 1:
                for _ in 0..<(1 + Int(generator.next() % 4)) {
                    data[Int(generator.next() % UInt64(data.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
            case 2:  // damage the header length field
                let length = UInt32(truncatingIfNeeded: generator.next() % 5000)
                withUnsafeBytes(of: length.littleEndian) { data.replaceSubrange(12..<16, with: $0) }
            default:  // random garbage after a valid magic
                data = Data(TokenFile.magic) + Data((0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            }
            do {
                let decoded = try TokenFile(decoding: data)
                XCTAssertEqual(try decoded.encoded(), data, "a mutated file decoded to something else (round \(round))")
            } catch is TokenFileError {
                rejected += 1
            } catch {
                XCTFail("round \(round): unexpected error type \(error)")
            }
        }
        XCTAssertGreaterThan(rejected, 3900)
        XCTAssertLessThan(Date().timeIntervalSince(start), 60, "fuzzing must not hang")
    }
}
