// The output rules (docs/robustness.md): an output that is the input is refused, an output's name
// must fit what a command writes, a folder output needs a new, empty or Magvit-marked folder, files
// written in place are never opened through a link, and every valid name gets a temporary name.
import Foundation
@testable import Torch
import XCTest

final class OutputRuleTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-outputs-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "accepted" } catch { return "\(error)" }
    }

    func testAnOutputThatIsTheInputIsRefused() throws {
        try Data("video".utf8).write(to: URL(fileURLWithPath: path("v.mp4")))
        XCTAssertTrue(message { try OutputFiles.checkNotInput(path("v.mp4"), inputs: [path("v.mp4")]) }.contains("is the input"))
        // The same file under another name: a symbolic link, a hard link, a path through "..".
        try FileManager.default.createSymbolicLink(atPath: path("link.mp4"), withDestinationPath: path("v.mp4"))
        XCTAssertNotEqual(link(path("v.mp4"), path("hard.mp4")), -1)
        for other in ["link.mp4", "hard.mp4"] {
            XCTAssertTrue(message { try OutputFiles.checkNotInput(self.path(other), inputs: [self.path("v.mp4")]) }.contains("is the input"), other)
        }
        XCTAssertTrue(message { try OutputFiles.checkNotInput(self.path("v.mp4"), inputs: [self.folder.path + "/../" + self.folder.lastPathComponent + "/v.mp4"]) }
            .contains("is the input"))
        XCTAssertEqual(message { try OutputFiles.checkNotInput(self.path("new.mgvt"), inputs: [self.path("v.mp4")]) }, "accepted", "a new output is never the input")
        try Data("other".utf8).write(to: URL(fileURLWithPath: path("w.mp4")))
        XCTAssertEqual(message { try OutputFiles.checkNotInput(self.path("w.mp4"), inputs: [self.path("v.mp4")]) }, "accepted")
    }

    func testAnOutputBelowSomethingThatIsNotAFolderIsNamed() throws {
        try Data("notes".utf8).write(to: URL(fileURLWithPath: path("notes.txt")))
        try FileManager.default.createSymbolicLink(atPath: path("gone"), withDestinationPath: path("missing"))
        try FileManager.default.createSymbolicLink(atPath: path("there"), withDestinationPath: folder.path)
        XCTAssertEqual(message { try OutputFiles.checkParents(self.path("notes.txt/a/b/x.mp4")) },
                       "cannot create \(path("notes.txt/a/b/x.mp4")): \(path("notes.txt")) is a file, not a folder")
        XCTAssertEqual(message { try OutputFiles.checkFolder(self.path("notes.txt/frames")) },
                       "cannot create \(path("notes.txt/frames")): \(path("notes.txt")) is a file, not a folder")
        XCTAssertTrue(message { try OutputFiles.checkDestination(self.path("gone/x.mgvt")) }.contains("is a symbolic link to something missing"))
        XCTAssertTrue(message { try OutputFiles.write(Data(), to: URL(fileURLWithPath: self.path("notes.txt/x.json"))) }.contains("is a file, not a folder"))
        XCTAssertTrue(message { try OutputFiles.createFolder(self.path("notes.txt")) }.contains("it is a regular file"))
        // Missing folders, and folders reached through a link, are fine.
        XCTAssertEqual(message { try OutputFiles.checkParents(self.path("new/deeper/x.mp4")) }, "accepted")
        XCTAssertEqual(message { try OutputFiles.write(Data("x".utf8), to: URL(fileURLWithPath: self.path("there/new/x.json"))) }, "accepted")
        XCTAssertEqual(message { try OutputFiles.checkParents("x.mp4") }, "accepted")
        // Names Foundation's deletingLastPathComponent trapped on (the output-paths campaign: `-o -`, `-o ./`).
        for name in ["-", "./", ".", "/", "//", "a//b/", "-x"] { XCTAssertEqual(message { try OutputFiles.checkParents(name) }, "accepted", name) }
        XCTAssertEqual(["a/b/c/", "x", "/x", "/", "a//b", "./-"].map(OutputFiles.parent), ["a/b", "", "/", "/", "a", "."])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("notes.txt"))), Data("notes".utf8))
    }

    func testAnOutputNameMustFitTheCommand() throws {
        let wrong = message { try OutputFiles.checkExtension("clips/x.mp4", ["mgvt"], writes: "a token file") }
        XCTAssertTrue(wrong.contains("ends in .mp4") && wrong.contains("name it .mgvt (for example x.mgvt)"), wrong)
        XCTAssertTrue(message { try OutputFiles.checkExtension("x", ["mgvc"], writes: "a compressed stream") }.contains("has no extension"))
        XCTAssertEqual(message { try OutputFiles.checkExtension("X.MGVT", ["mgvt"], writes: "a token file") }, "accepted")
    }

    func testAFolderOutputIsNewEmptyOrMagvits() throws {
        XCTAssertEqual(message { try OutputFiles.checkFolder(self.path("new")) }, "accepted")
        try FileManager.default.createDirectory(atPath: path("empty"), withIntermediateDirectories: true)
        XCTAssertEqual(message { try OutputFiles.checkFolder(self.path("empty")) }, "accepted")
        // Someone's folder: refused with what it holds, nothing touched.
        try FileManager.default.createDirectory(atPath: path("mine/sub"), withIntermediateDirectories: true)
        try Data("thesis".utf8).write(to: URL(fileURLWithPath: path("mine/thesis.txt")))
        let refused = message { try OutputFiles.checkFolder(self.path("mine")) }
        XCTAssertTrue(refused.contains("already holds files Magvit did not write (sub, thesis.txt)"), refused)
        XCTAssertTrue(message { try OutputFiles.checkFolder(self.path("mine/thesis.txt")) }.contains("is a regular file, not a folder"))
        // Magvit's folder: written into again; replaced only when it holds nothing but what the writer owns.
        try OutputFiles.createFolder(path("made/deeper"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: path("made/deeper/" + OutputFiles.folderMarker)))
        try Data().write(to: URL(fileURLWithPath: path("made/deeper/frame_00001.png")))
        XCTAssertEqual(message { try OutputFiles.checkFolder(self.path("made/deeper")) }, "accepted")
        let owned = { (name: String) in name.hasPrefix("frame_") }
        XCTAssertEqual(message { try OutputFiles.checkFolder(self.path("made/deeper"), replacing: owned) }, "accepted")
        try Data("notes".utf8).write(to: URL(fileURLWithPath: path("made/deeper/notes.md")))
        XCTAssertTrue(message { try OutputFiles.checkFolder(self.path("made/deeper"), replacing: owned) }.contains("(notes.md)"))
        // A folder from before markers, known by a file only Magvit writes there.
        try FileManager.default.createDirectory(atPath: path("old"), withIntermediateDirectories: true)
        try Data().write(to: URL(fileURLWithPath: path("old/.lock")))
        try Data().write(to: URL(fileURLWithPath: path("old/log.jsonl")))
        XCTAssertEqual(message { try OutputFiles.checkFolder(self.path("old"), legacyMarks: [".lock"]) }, "accepted")
    }

    func testFilesWrittenInPlaceAreNotOpenedThroughLinks() throws {
        try Data("precious".utf8).write(to: URL(fileURLWithPath: path("elsewhere.txt")))
        try FileManager.default.createSymbolicLink(atPath: path("log.jsonl"), withDestinationPath: path("elsewhere.txt"))
        let link = message { _ = try OutputFiles.openInPlace(self.path("log.jsonl"), flags: O_WRONLY | O_CREAT | O_TRUNC, what: "log") }
        XCTAssertTrue(link.contains("log.jsonl is a symbolic link, not the run's log"), link)
        XCTAssertEqual(try String(contentsOfFile: path("elsewhere.txt"), encoding: .utf8), "precious")
        try FileManager.default.createDirectory(atPath: path("folder.jsonl"), withIntermediateDirectories: true)
        XCTAssertTrue(message { _ = try OutputFiles.openInPlace(self.path("folder.jsonl"), flags: O_WRONLY | O_CREAT, what: "log") }.contains("is a folder"))
        XCTAssertEqual(mkfifo(path("fifo"), 0o600), 0)
        XCTAssertTrue(message { _ = try OutputFiles.openInPlace(self.path("fifo"), flags: O_RDWR | O_CREAT, what: "lock file") }.contains("is a FIFO"))
        let fd = try OutputFiles.openInPlace(path("fresh.jsonl"), flags: O_WRONLY | O_CREAT | O_APPEND, what: "log")
        XCTAssertEqual(write(fd, "x", 1), 1)
        close(fd)
    }

    func testEveryValidNameGetsATemporary() throws {
        // 255 bytes is the longest name; with ".partial-PID" added, the temporary's would not fit.
        for name in [String(repeating: "a", count: 251) + ".bin", String(repeating: "é", count: 125) + ".bin", "short.bin"] {
            XCTAssertLessThanOrEqual(name.utf8.count, 255)
            let url = folder.appendingPathComponent(name)
            try OutputFiles.write(Data("x".utf8), to: url)
            XCTAssertEqual(try Data(contentsOf: url), Data("x".utf8), name)
            let temporary = OutputFiles.temporary(for: url.path, suffix: ".mp4")
            OutputFiles.release(temporary)
            let temporaryName = URL(fileURLWithPath: temporary).lastPathComponent
            XCTAssertLessThanOrEqual(temporaryName.utf8.count, 255, temporaryName)
            XCTAssertTrue(temporaryName.contains(".partial-"), temporaryName)
        }
        // Two long names that share their first bytes keep apart temporaries.
        let a = OutputFiles.temporary(for: path(String(repeating: "b", count: 250) + "1")), b = OutputFiles.temporary(for: path(String(repeating: "b", count: 250) + "2"))
        XCTAssertNotEqual(a, b)
        OutputFiles.release(a)
        OutputFiles.release(b)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".partial-") }, [])
    }
}
