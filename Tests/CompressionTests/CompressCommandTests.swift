// `magvit compress` / `decompress` end to end on a real clip with a tiny tokenizer and a tiny prior:
// the decompressed tokens are exactly `encode`'s, a partial stream decodes to a video, `info` reports
// the rate, and the wrong prior, a damaged stream and a truncated one are refused with one message
// and no output file.
import Codec
import Compression
import Foundation
import Media
import TestSupport
import Tokenizer
import Torch
import XCTest

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

final class CompressCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-compress-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// A generator file of random weights for the tokenizer of `hash` (`writeTestPrior`).
    private func writePrior(_ name: String, tokenizerHash: String, seed: UInt64) throws -> String {
        try writeTestPrior(folder.appendingPathComponent(name), tokenizerHash: tokenizerHash, seed: seed).path
    }

    /// The shipped prior's choice: its model for the tokenizer it was trained on, nothing (the
    /// baseline codes) for another tokenizer's tokens, and an error, not the baseline, for a file
    /// that is not a generator.
    func testAPriorIsTakenPassedOverOrRefusedByWhatItWasTrainedOn() throws {
        let prior = URL(fileURLWithPath: try writePrior("prior.safetensors", tokenizerHash: "aaaa", seed: 1))
        XCTAssertNotNil(try MaskedPrior.ifTrained(on: "aaaa", bits: 6, at: prior))
        XCTAssertNil(try MaskedPrior.ifTrained(on: "bbbb", bits: 6, at: prior))
        XCTAssertNil(try MaskedPrior.ifTrained(on: "aaaa", bits: 8, at: prior))
        XCTAssertThrowsError(try MaskedPrior(contentsOf: prior, tokenizerWeights: "bbbb", bits: 6)) { error in
            XCTAssertTrue("\(error)".contains("was trained on the tokens of another tokenizer"), "\(error)")
        }
        try Data("not a generator".utf8).write(to: folder.appendingPathComponent("broken.safetensors"))
        XCTAssertThrowsError(try MaskedPrior.ifTrained(on: "aaaa", bits: 6, at: folder.appendingPathComponent("broken.safetensors")))
    }

    func testCompressDecompressRoundTripAndRefusals() throws {
        let clip = repositoryRoot.appendingPathComponent(".deps/media/carphone_pristine.mp4").path
        guard FileManager.default.fileExists(atPath: clip) else { throw XCTSkip("run scripts/setup.sh for the sample clips") }
        Torch.manualSeed(8)
        let tokenizer = try VideoTokenizer(config: .tiny)
        try tokenizer.save(to: folder.appendingPathComponent("tiny.safetensors"))
        let model = ["--checkpoint", path("tiny.safetensors")]
        let prior = try writePrior("prior.safetensors", tokenizerHash: tokenizer.weightsHash(), seed: 1)
        let other = try writePrior("other.safetensors", tokenizerHash: tokenizer.weightsHash(), seed: 2)

        var r = try magvit(["encode", clip, "-o", path("c.mgvt"), "--size", "64x48", "--max-frames", "9"] + model)
        XCTAssertEqual(r.status, 0, r.output)
        for (name, options) in [("model", ["--prior", prior]), ("baseline", ["--baseline"])] {
            r = try magvit(["compress", path("c.mgvt"), "-o", path("\(name).mgvc")] + options + model)
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains("9 frames, 1152 tokens (4 of 4 groups sent)"), r.output)
            r = try magvit(["decompress", path("\(name).mgvc"), "-o", path("\(name).mgvt")] + options + model)
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertEqual(try TokenFile(contentsOf: folder.appendingPathComponent("\(name).mgvt")), try TokenFile(contentsOf: folder.appendingPathComponent("c.mgvt")), name)
        }
        r = try magvit(["info", path("model.mgvc")])
        XCTAssertTrue(r.output.contains("prior       prior.safetensors (masked-transformer, factors [3, 3]") && r.output.contains("bits per pixel"), r.output)

        // A video straight in, half the groups sent, a video out.
        r = try magvit(["compress", clip, "-o", path("half.mgvc"), "--size", "64x48", "--max-frames", "9", "--keep", "2", "--prior", prior] + model)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("(2 of 4 groups sent)") && r.output.contains("of the tokens decode as encoded"), r.output)
        r = try magvit(["decompress", path("half.mgvc"), "-o", path("half.mp4"), "--prior", prior] + model)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try VideoInfo(probing: path("half.mp4")).frames, 9)

        // A quality level: half size, 2 of 4 groups, played back at the source's size.
        r = try magvit(["compress", clip, "-o", path("q1.mgvc"), "--quality", "1", "--max-frames", "9", "--prior", prior] + model)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("(2 of 4 groups sent)") && r.output.contains("coded at 88x72 from 176x144"), r.output)
        r = try magvit(["decompress", path("q1.mgvc"), "-o", path("q1.mp4"), "--size", "source", "--prior", prior] + model)
        XCTAssertEqual(r.status, 0, r.output)
        let q1 = try VideoInfo(probing: path("q1.mp4"))
        XCTAssertEqual([q1.width, q1.height, q1.frames], [176, 144, 9])
        for (options, message) in [(["--quality", "6"], "--quality must be 1...5"), (["--quality", "3", "--keep", "2"], "give it without --groups, --keep and --size"),
                                   (["--groups", "5"], "--groups must be 1, 4, 16 or 64")] {
            r = try magvit(["compress", path("c.mgvt"), "-o", path("x.mgvc")] + options + model)
            XCTAssertNotEqual(r.status, 0, r.output)
            XCTAssertTrue(r.output.contains(message), r.output)
        }
        r = try magvit(["compress", path("c.mgvt"), "-o", path("x.mgvc"), "--quality", "2"] + model)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("give the video, not a token file"), r.output)

        // Refusals: one line, exit 1, nothing written.
        r = try magvit(["decompress", path("model.mgvc"), "-o", path("x.mgvt"), "--prior", other] + model)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("was coded with 'prior.safetensors'"), r.output)
        r = try magvit(["compress", path("c.mgvt"), "-o", path("x.mgvc"), "--keep", "2", "--baseline"] + model)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("needs an entropy model"), r.output)
        r = try magvit(["compress", path("c.mgvt"), "-o", path("x.mgvc"), "--keep", "5"] + model)
        XCTAssertNotEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("--keep must be 1...4"), r.output)
        var bytes = try Data(contentsOf: folder.appendingPathComponent("model.mgvc"))
        try bytes.prefix(bytes.count - 9).write(to: folder.appendingPathComponent("cut.mgvc"))
        bytes[bytes.count - 20] ^= 4
        try bytes.write(to: folder.appendingPathComponent("flipped.mgvc"))
        for name in ["cut", "flipped"] {
            r = try magvit(["decompress", path("\(name).mgvc"), "-o", path("x.mgvt"), "--prior", prior] + model)
            XCTAssertEqual(r.status, 1, r.output)
            XCTAssertTrue(r.output.contains("corrupt or truncated (checksum mismatch)"), r.output)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.mgvt")) || FileManager.default.fileExists(atPath: path("x.mgvc")))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".partial") }, [])
    }
}
