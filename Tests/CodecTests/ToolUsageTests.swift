// The tool as a person meets it (issue 34): a mistyped command is named with the nearest one and
// the list (exit 64); every error that is not a wrong option exits 1 without the usage text; an
// interrupted command says that nothing was written; and docs/media.md's token grid of the README's
// clip is the one the shipped model gives.
import Codec
import Foundation
import Media
import TestSupport
import Tokenizer
import Torch
import XCTest

final class ToolUsageTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-usage-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func testAnUnknownCommandIsNamedWithTheNearestOneAndTheList() throws {
        var r = try magvit(["encdoe", "x.mp4"])
        XCTAssertEqual(r.status, 64, r.output)
        XCTAssertTrue(r.output.contains("unknown command 'encdoe'; did you mean 'encode'?"), r.output)
        XCTAssertTrue(r.output.contains("encode, tokenize, decode") && r.output.contains("selfcheck"), r.output)
        XCTAssertFalse(r.output.contains("selfcheck [<options>]"), "no other command's usage: \(r.output)")

        r = try magvit(["qqq", "--help"])
        XCTAssertEqual(r.status, 64, r.output)
        XCTAssertTrue(r.output.contains("unknown command 'qqq'"), r.output)
        XCTAssertFalse(r.output.contains("did you mean"), "nothing is near 'qqq': \(r.output)")
        XCTAssertFalse(r.output.contains("Training steps to run"), "not selfcheck's help: \(r.output)")

        r = try magvit(["import", "--help"])  // a command's own help, not selfcheck's (the case)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("USAGE: magvit import"), r.output)
        XCTAssertFalse(r.output.contains("Training steps to run"), "not selfcheck's help: \(r.output)")

        r = try magvit(["eval", "recno", "--data", "x"])
        XCTAssertEqual(r.status, 64, r.output)
        XCTAssertTrue(r.output.contains("unknown command 'eval recno'; did you mean 'eval recon'?"), r.output)
        XCTAssertTrue(r.output.contains("recon, compare, gen"), r.output)

        r = try magvit(["encode", "--help"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("USAGE: magvit encode"), r.output)
    }

    func testErrorsExitOneAndWrongOptionsSixtyFour() throws {
        Torch.manualSeed(8)
        try VideoTokenizer(config: .tiny).save(to: folder.appendingPathComponent("tiny.safetensors"))
        try SyntheticData.writeVideo(to: folder.appendingPathComponent("in.mkv"), frames: 5)
        let model = ["--checkpoint", path("tiny.safetensors")]
        // Errors: a missing file (every kind), a missing checkpoint, a self-check of a wrong device name is an option.
        for arguments in [["info", path("missing.mgvt")], ["info", path("missing.mp4")], ["encode", path("missing.mp4"), "-o", path("x.mgvt")] + model,
                          ["encode", path("in.mkv"), "-o", path("x.mgvt"), "--checkpoint", path("missing.safetensors")],
                          ["decode", path("missing.mgvt"), "-o", path("x.mp4")] + model] {
            let r = try magvit(arguments)
            XCTAssertEqual(r.status, 1, "\(arguments): \(r.output)")
            XCTAssertTrue(r.output.contains("Error: ") && r.output.contains("missing"), r.output)
            XCTAssertFalse(r.output.contains("Usage:"), "an error is not a wrong option: \(r.output)")
        }
        // Wrong options and values: the usage, status 64.
        for arguments in [["encode", path("in.mkv"), "-o", path("x.mgvt"), "--bogus"], ["info"], ["encode", path("in.mkv"), "-o", path("x.mgvt"), "--size", "9"] + model,
                          ["compress", path("in.mkv"), "-o", path("x.mgvc"), "--quality", "9"] + model] {
            let r = try magvit(arguments)
            XCTAssertEqual(r.status, 64, "\(arguments): \(r.output)")
            XCTAssertTrue(r.output.contains("Usage:") || r.output.contains("USAGE:"), r.output)
        }
    }

    func testAnInterruptedCommandSaysNothingWasWritten() throws {
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        Torch.manualSeed(8)
        try VideoTokenizer(config: .tiny).save(to: folder.appendingPathComponent("tiny.safetensors"))
        try SyntheticData.writeVideo(to: folder.appendingPathComponent("long.mkv"), frames: 800, size: 64)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: magvitTool)
        process.arguments = ["encode", path("long.mkv"), "-o", path("out.mgvt"), "--checkpoint", path("tiny.safetensors"), "--threads", "1"]
        let pipe = Pipe()
        (process.standardOutput, process.standardError) = (FileHandle.nullDevice, pipe)
        try process.run()
        // Under way once its ffmpeg reader runs.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning, !childRuns(of: process.processIdentifier) { usleep(10_000) }
        usleep(200_000)
        XCTAssertTrue(process.isRunning, "encode ended before it could be interrupted")
        kill(process.processIdentifier, SIGINT)
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + SIGINT)
        XCTAssertTrue(output.contains("interrupted; nothing written"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("out.mgvt")))
    }

    /// Whether `pid` has a child process (its ffmpeg).
    func childRuns(of pid: Int32) -> Bool {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.contains { entry in
            guard let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }
    }

    /// docs/media.md's token grid of carphone with the shipped model, from the model's config and the
    /// clip's frames (as `encode` cuts them).
    func testMediaDocsTokenGridOfTheREADMEClip() throws {
        let clip = repositoryRoot.appendingPathComponent(".deps/media/carphone_pristine.mp4").path
        let model = repositoryRoot.appendingPathComponent("models/default-tokenizer.safetensors")
        guard FileManager.default.fileExists(atPath: clip) else { throw XCTSkip("run scripts/setup.sh for the sample clips") }
        let config = try VideoTokenizer.load(from: model).config
        let info = try VideoInfo(probing: clip)
        let frames = try XCTUnwrap(info.frames)
        let chunks = stride(from: 0, to: frames, by: config.clipFrames).map { Swift.min(config.clipFrames, frames - $0) }
        let t = chunks.map { 1 + ($0 - 1 + config.temporalFactor - 1) / config.temporalFactor }.reduce(0, +)
        let grid = "\(t)×\(info.height / config.spatialFactor)×\(info.width / config.spatialFactor)"
        let docs = try String(contentsOf: repositoryRoot.appendingPathComponent("docs/media.md"), encoding: .utf8)
        XCTAssertTrue(docs.contains("A token file of that clip holds \(grid) tokens of \(config.quantizer.bits) bits"), "docs/media.md should say \(grid)")
    }
}
