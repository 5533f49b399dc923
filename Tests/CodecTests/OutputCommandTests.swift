// The output rules through the tool (docs/robustness.md): `decode -o FOLDER` keeps a folder that is
// not Magvit's; an existing folder named with a trailing slash is written; an output that is the
// input is refused before any work by every command, also through a link; an output name that does
// not fit the command is refused with the right extension named; an output below a file is one line
// naming the file; the longest names work.
import Foundation
import TestSupport
import Tokenizer
import Torch
import XCTest

final class OutputCommandTests: XCTestCase {
    var folder: URL!
    var model: [String] { ["--checkpoint", path("tiny.safetensors")] }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-output-commands-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        Torch.manualSeed(8)
        try VideoTokenizer(config: .tiny).save(to: folder.appendingPathComponent("tiny.safetensors"))
        try SyntheticData.writeVideo(to: folder.appendingPathComponent("in.mkv"), frames: 5)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func contents(_ name: String) throws -> Data { try Data(contentsOf: folder.appendingPathComponent(name)) }

    /// Token file t.mgvt and stream s.mgvc of in.mkv.
    func makeTokensAndStream() throws {
        var r = try magvit(["encode", path("in.mkv"), "-o", path("t.mgvt")] + model)
        XCTAssertEqual(r.status, 0, r.output)
        r = try magvit(["compress", path("t.mgvt"), "-o", path("s.mgvc"), "--baseline"] + model)
        XCTAssertEqual(r.status, 0, r.output)
    }

    func testDecodeKeepsSomeoneElsesFolderAndWritesAnEmptyOneNamedWithASlash() throws {
        try makeTokensAndStream()
        try FileManager.default.createDirectory(atPath: path("thesis/sub"), withIntermediateDirectories: true)
        try Data("chapter 1".utf8).write(to: folder.appendingPathComponent("thesis/thesis.txt"))
        try Data("notes".utf8).write(to: folder.appendingPathComponent("thesis/sub/notes.md"))
        var r = try magvit(["decode", path("t.mgvt"), "-o", path("thesis")] + model)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("already holds files Magvit did not write (sub, thesis.txt)"), r.output)
        XCTAssertFalse(r.output.contains("decode: 5 frames"), "refused before the work: \(r.output)")
        XCTAssertEqual(try contents("thesis/thesis.txt"), Data("chapter 1".utf8))
        XCTAssertEqual(try contents("thesis/sub/notes.md"), Data("notes".utf8))

        for (command, input) in [("decode", "t.mgvt"), ("decompress", "s.mgvc")] {
            let out = "\(command)-frames"
            try FileManager.default.createDirectory(atPath: path(out), withIntermediateDirectories: true)
            r = try magvit([command, path(input), "-o", path(out) + "/"] + (command == "decompress" ? ["--baseline"] : []) + model)
            XCTAssertEqual(r.status, 0, r.output)
            XCTAssertFalse(r.output.contains("NSCocoaErrorDomain"), r.output)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path(out)).filter { $0.hasPrefix("frame_") }.count, 5, command)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".partial-") || $0.contains(".old-") }, [])
    }

    func testAnOutputThatIsTheInputIsRefusedBeforeAnyWork() throws {
        try makeTokensAndStream()
        try FileManager.default.createSymbolicLink(atPath: path("alias.mkv"), withDestinationPath: path("in.mkv"))
        let cases: [[String]] = [
            ["reconstruct", path("in.mkv"), "-o", path("in.mkv")],
            ["reconstruct", path("alias.mkv"), "-o", path("in.mkv")],
            ["encode", path("in.mkv"), "-o", path("in.mkv")],
            ["compress", path("in.mkv"), "-o", path("in.mkv")],
            ["compress", path("t.mgvt"), "-o", path("t.mgvt")],
            ["decode", path("t.mgvt"), "-o", path("t.mgvt")],
            ["decompress", path("s.mgvc"), "-o", path("s.mgvc")],
            ["frames", path("in.mkv"), "-o", path("in.mkv")],
        ]
        let before = try ["in.mkv", "t.mgvt", "s.mgvc"].map(contents)
        for arguments in cases {
            let r = try magvit(arguments + (arguments[0] == "frames" ? [] : model))
            XCTAssertEqual(r.status, 1, "\(arguments): \(r.output)")
            XCTAssertTrue(r.output.contains("is the input"), "\(arguments): \(r.output)")
        }
        XCTAssertEqual(try ["in.mkv", "t.mgvt", "s.mgvc"].map(contents), before, "every input kept")
    }

    func testAnOutputNameThatDoesNotFitTheCommandIsRefused() throws {
        try makeTokensAndStream()
        for (arguments, right) in [(["encode", path("in.mkv"), "-o", path("x.mp4")], ".mgvt (for example x.mgvt)"),
                                   (["compress", path("in.mkv"), "-o", path("x.mgvt")], ".mgvc (for example x.mgvc)"),
                                   (["decompress", path("s.mgvc"), "-o", path("x.mgvc"), "--baseline"], "cannot write .mgvc")] {
            let r = try magvit(arguments + model)
            XCTAssertEqual(r.status, 1, "\(arguments): \(r.output)")
            XCTAssertTrue(r.output.contains(right), "\(arguments): \(r.output)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.mp4")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.mgvt")))
    }

    func testAnOutputBelowAFileIsOneLineNamingTheFile() throws {
        try makeTokensAndStream()
        try Data("notes".utf8).write(to: folder.appendingPathComponent("notes.txt"))
        let cases: [[String]] = [
            ["encode", path("in.mkv"), "-o", path("notes.txt/x.mgvt")],
            ["decode", path("t.mgvt"), "-o", path("notes.txt/x.mp4")],
            ["decode", path("t.mgvt"), "-o", path("notes.txt/deeper/frames/")],
            ["reconstruct", path("in.mkv"), "-o", path("notes.txt/x.mp4")],
            ["compress", path("t.mgvt"), "-o", path("notes.txt/x.mgvc"), "--baseline"],
            ["decompress", path("s.mgvc"), "-o", path("notes.txt/x.mgvt"), "--baseline"],
            ["frames", path("in.mkv"), "-o", path("notes.txt/x.safetensors")],
            ["tokenize", path("in.mkv"), "-o", path("notes.txt/dataset")],
        ]
        for arguments in cases {
            let r = try magvit(arguments + (arguments[0] == "frames" ? [] : model))
            XCTAssertEqual(r.status, 1, "\(arguments): \(r.output)")
            XCTAssertTrue(r.output.contains("cannot create \(arguments[3].hasSuffix("/") ? String(arguments[3].dropLast()) : arguments[3]): \(path("notes.txt")) is a file, not a folder"),
                          "\(arguments): \(r.output)")
            XCTAssertFalse(r.output.contains("NSCocoaErrorDomain") || r.output.contains(" frames of "), "one line, before any work: \(arguments): \(r.output)")
        }
        // Names that trapped in the first version of the check (exit 132): a dash (a folder named "-"
        // is a dataset like another), the current folder (refused: a folder).
        for (arguments, status) in [(["tokenize", path("in.mkv"), "-o", "-"], Int32(0)), (["encode", path("in.mkv"), "-o", "./"], 1)] {
            let r = try magvit(arguments + model, in: folder)
            XCTAssertEqual(r.status, status, "\(arguments): \(r.output)")
        }
        // A report written after the work is checked before it: eval recon spent its whole evaluation first.
        let r = try magvit(["eval", "recon", "--data", path("in.mkv"), "--json", path("notes.txt/scores.json")] + model)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("notes.txt is a file, not a folder") && !r.output.contains("PSNR"), r.output)
        XCTAssertEqual(try contents("notes.txt"), Data("notes".utf8))
    }

    func testTheLongestNamesAreWritten() throws {
        let tokens = String(repeating: "t", count: 250) + ".mgvt", frames = String(repeating: "f", count: 255)
        var r = try magvit(["encode", path("in.mkv"), "-o", path(tokens)] + model)
        XCTAssertEqual(r.status, 0, r.output)
        r = try magvit(["decode", path(tokens), "-o", path(frames)] + model)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertFalse(r.output.contains("Code=514"), r.output)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path(frames)).filter { $0.hasPrefix("frame_") }.count, 5)
        // A name past 255 bytes is a message, not a Foundation error.
        r = try magvit(["encode", path("in.mkv"), "-o", path(String(repeating: "x", count: 256) + ".mgvt")] + model)
        XCTAssertEqual(r.status, 1, r.output)
        XCTAssertTrue(r.output.contains("File name too long") && !r.output.contains("NSCocoaErrorDomain"), r.output)
    }
}
