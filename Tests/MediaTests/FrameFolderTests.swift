// A folder of PNG frames follows the folder rule: it is written into a new or empty folder (also
// named with a trailing slash) or replaces one Magvit wrote, losing only the old frames; someone
// else's folder is refused before ffmpeg starts, with every file kept; long names work.
import Foundation
import Media
import TestSupport
import Torch
import XCTest

final class FrameFolderTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-frames-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    func write(_ frames: Int, to path: String) throws {
        let writer = try VideoWriter(path: path, width: 8, height: 8)
        try writer.write(Tensor.zeros([frames, 8, 8, 3]))
        try writer.finish()
    }

    func entries(_ name: String) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: path(name)).sorted() }

    func testSomeoneElsesFolderIsRefusedAndKeepsItsFiles() throws {
        try FileManager.default.createDirectory(atPath: path("work/sub"), withIntermediateDirectories: true)
        try Data("my thesis".utf8).write(to: URL(fileURLWithPath: path("work/thesis.txt")))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: path("work/sub/notes.md")))
        XCTAssertThrowsError(try write(3, to: path("work"))) {
            XCTAssertTrue("\($0)".contains("already holds files Magvit did not write (sub, thesis.txt)"), "\($0)")
        }
        XCTAssertThrowsError(try VideoWriter.checkDestination(path("work/")))
        XCTAssertEqual(try String(contentsOfFile: path("work/thesis.txt"), encoding: .utf8), "my thesis")
        XCTAssertEqual(try String(contentsOfFile: path("work/sub/notes.md"), encoding: .utf8), "notes")
        XCTAssertEqual(try entries(""), ["work"], "no temporary left")
    }

    func testAnEmptyFolderEvenWithATrailingSlashAndThenMagvitsOwn() throws {
        try FileManager.default.createDirectory(atPath: path("out"), withIntermediateDirectories: true)
        try write(3, to: path("out") + "/")
        XCTAssertEqual(try entries("out"), [OutputFiles.folderMarker, "frame_00001.png", "frame_00002.png", "frame_00003.png"])
        // Magvit's own folder is replaced: the old frames go, the new ones come.
        try write(2, to: path("out"))
        XCTAssertEqual(try entries("out"), [OutputFiles.folderMarker, "frame_00001.png", "frame_00002.png"])
        XCTAssertEqual(try VideoReader(path: path("out")).readAll()?.size(0), 2, "the marker does not disturb reading the frames")
        // A file added to it since is not Magvit's to delete.
        try Data("mine".utf8).write(to: URL(fileURLWithPath: path("out/keep.txt")))
        XCTAssertThrowsError(try write(1, to: path("out"))) { XCTAssertTrue("\($0)".contains("(keep.txt)"), "\($0)") }
        XCTAssertEqual(try entries("out"), [OutputFiles.folderMarker, "frame_00001.png", "frame_00002.png", "keep.txt"])
        XCTAssertEqual(try entries("").filter { $0.contains(".partial-") || $0.contains(".old-") }, [])
    }

    func testLongNamesAreWritten() throws {
        // The longest names (255 bytes): a file and a frame folder, whose temporaries would not fit as NAME.partial-PID.
        let file = String(repeating: "v", count: 251) + ".mkv", frames = String(repeating: "f", count: 255)
        try write(2, to: path(file))
        try write(2, to: path(frames))
        XCTAssertEqual(try VideoReader(path: path(file)).readAll()?.size(0), 2)
        XCTAssertEqual(try entries(frames).count, 3)
        XCTAssertEqual(try entries("").sorted(), [frames, file].sorted())
    }
}
