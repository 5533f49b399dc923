// The hostile-input reproducers of the token file: valid CRCs around one header field set to an edge
// value. Each must be refused by the reader (and by `magvit info`/`decode`) with a message naming the
// field, never by an arithmetic trap or a signal.
@testable import Codec
import Foundation
import TestSupport
import Tokenizer
import XCTest

final class HostileTokenFileTests: XCTestCase {
    /// `file`'s bytes with its JSON header changed by `edit` (and the flags word set), re-framed with
    /// a correct length and CRC: what an attacker writes.
    static func forged(_ file: TokenFile, flags: UInt16 = 0, _ edit: (inout [String: Any]) -> Void) throws -> Data {
        let (json, payload) = try XCTUnwrap(TokenFile.sections(of: try file.encoded()))
        var header = try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String: Any])
        edit(&header)
        return TokenFile.frame(headerJSON: try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]), payload: payload, flags: flags)
    }

    func refusal(_ data: Data) -> String {
        do { _ = try TokenFile(decoding: data); return "accepted" } catch { return "\(error)" }
    }

    func testForgedHeadersAreRefusedByField() throws {
        let file = try sampleTokenFile()
        XCTAssertEqual(refusal(try Self.forged(file) { _ in }), "accepted", "the forging itself keeps a valid file valid")
        var cases: [(String, UInt16, (inout [String: Any]) -> Void)] = [
            ("grid t (latent frames) must be 1...16777216, found 4611686018427387904", 0, { $0["t"] = 1 << 62 }),
            ("chunk 0: latentFrames must be", 0, { $0["chunks"] = [["frames": 1, "latentFrames": Int.max], ["frames": 1, "latentFrames": Int.max]] }),
            ("chunk 0: frames must be", 0, { $0["chunks"] = [["frames": 1 << 62, "latentFrames": 2], ["frames": 1, "latentFrames": 1]] }),
            ("source.width must be 1...65536, found 1099511627776", 0, { h in
                var s = h["source"] as! [String: Any]; s["width"] = 1 << 40; s["height"] = 1 << 40; h["source"] = s }),
            ("source frame rate must be N/D", 0, { h in var s = h["source"] as! [String: Any]; s["frameRateNumerator"] = 0; h["source"] = s }),
            ("source frame rate must be N/D", 0, { h in var s = h["source"] as! [String: Any]; s["frameRateDenominator"] = -1; h["source"] = s }),
            ("flags 0x4 are not known", 4, { _ in }),
            ("grid h and w must be", 0, { $0["h"] = -1 }),
            ("bits must be 1...30", 0, { $0["bits"] = Int.max }),
            ("normGroups", 0, { h in
                var t = h["tokenizer"] as! [String: Any]; var c = t["config"] as! [String: Any]; c["normGroups"] = 0; t["config"] = c; h["tokenizer"] = t }),
        ]
        // The tokenizer config is checked before the chunks' frame limit multiplies by its temporal
        // factor (62 once overflowed that product; 2^31 and above shifted the factor to 0).
        for downsamplings in [62, 63, 1 << 31, Int.max, -1] {
            cases.append(("temporalDownsamplings must be between 0 and", 0, { h in
                var t = h["tokenizer"] as! [String: Any]; var c = t["config"] as! [String: Any]
                c["temporalDownsamplings"] = downsamplings; t["config"] = c; h["tokenizer"] = t }))
        }
        for (expected, flags, edit) in cases {
            let message = refusal(try Self.forged(file, flags: flags, edit))
            XCTAssertTrue(message.contains(expected), "expected '\(expected)', got: \(message)")
        }
    }

    /// `info` prints a file's text fields with their control characters escaped: a source name
    /// cannot retitle the terminal or forge a line.
    func testInfoEscapesControlCharactersFromTheFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-escape-\(getpid())-\(UUID().uuidString.prefix(8)).mgvt")
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.forged(try sampleTokenFile()) { h in
            var s = h["source"] as! [String: Any]; s["file"] = "clip\u{1B}]0;owned\u{07}\nerror: forged line\u{1B}[2J.mp4"; h["source"] = s
        }.write(to: url)
        let r = try magvit(["info", url.path])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertFalse(r.output.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, r.output)
        XCTAssertTrue(r.output.contains("clip\\x1B]0;owned\\x07\\x0Aerror: forged line\\x1B[2J.mp4"), r.output)
    }

    /// Numbers of the tool's settings that would quietly misbehave are refused.
    func testLaunchRefusesAGraceThatIsNotANumberOfSeconds() throws {
        for grace in ["nan", "inf", "1e9"] {
            let r = try magvit(["launch", "--nproc", "1", "--grace", grace, "--", "train", "x.yaml", "-o", "/nonexistent/run"])
            XCTAssertNotEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("--grace must be a finite number in 0.0...86400.0"), r.output)
        }
    }

    /// The tool refuses the same files with status 1 and one message, and states what a decode writes,
    /// refusing more than --max-pixels unless --allow-large.
    func testToolRefusesForgedFilesAndBoundsDecodes() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-hostile-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try sampleTokenFile()
        for (name, edit) in [("t", { (h: inout [String: Any]) in h["t"] = 1 << 62 }),
                             ("width", { (h: inout [String: Any]) in var s = h["source"] as! [String: Any]; s["width"] = 1 << 40; h["source"] = s })] {
            let url = folder.appendingPathComponent("\(name).mgvt")
            try Self.forged(file, edit).write(to: url)
            for command in [["info", url.path], ["decode", url.path, "-o", folder.appendingPathComponent("\(name).mp4").path, "--untrained", "tiny"]] {
                let r = try magvit(command)
                XCTAssertEqual(r.status, 1, "\(command): \(r.output)")
                XCTAssertTrue(r.output.contains("must be"), r.output)
            }
        }
        // A consistent file that decodes to 9 frames of 256x256: its size is stated, and refused above a limit.
        var config = TokenizerConfig.tiny
        config.quantizer = QuantizerConfig(kind: .lfq, bits: 6)
        let (t, side) = (5, 256 / config.spatialFactor)
        let header = TokenFile.Header(
            tokenizer: .init(name: "tiny", config: config, weights: String(repeating: "ab", count: 32)), bits: 6, t: t, h: side, w: side,
            chunks: [.init(frames: 1 + (t - 1) * config.temporalFactor, latentFrames: t)],
            source: .init(file: "x.mp4", width: 256, height: 256, frameRateNumerator: 25, frameRateDenominator: 1, tokenizedWidth: 256, tokenizedHeight: 256))
        let big = folder.appendingPathComponent("big.mgvt")
        try TokenFile(header: header, ids: [Int64](repeating: 3, count: t * side * side)).write(to: big)
        let frames = header.frames
        let r = try magvit(["decode", big.path, "-o", folder.appendingPathComponent("big.mp4").path, "--max-pixels", "100000"])
        XCTAssertTrue((1..<128).contains(r.status), r.output)
        XCTAssertTrue(r.output.contains("decodes to \(frames) frames of 256x256") && r.output.contains("--allow-large"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("big.mp4").path))
    }
}
