// A run's files are never followed through links and never replace someone's folder: a lock or log
// planted as a symbolic link is refused and its target untouched (on a new run and on --resume), a
// run file that is a folder is a one-line message, and a new run needs a new, empty or Magvit folder.
import Foundation
import Harness
import Torch
import XCTest

final class RunFileTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-runfiles-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A file outside the run with content that must survive.
    func precious() throws -> URL {
        let url = folder.appendingPathComponent("precious.txt")
        try Data("precious\n".utf8).write(to: url)
        return url
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "accepted" } catch { return "\(error)" }
    }

    func testALinkedLockOrLogIsRefusedAndItsTargetKept() throws {
        let run = folder.appendingPathComponent("run")
        try HarnessTests.train(run, steps: 50)
        let target = try precious()
        for name in [".lock", "log.jsonl"] {
            let file = run.appendingPathComponent(name)
            let saved = try Data(contentsOf: file)
            try FileManager.default.removeItem(at: file)
            try FileManager.default.createSymbolicLink(at: file, withDestinationURL: target)
            let refused = message { try HarnessTests.train(run, steps: 60, resume: true) }
            XCTAssertTrue(refused.contains("\(name) is a symbolic link"), refused)
            XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "precious\n", "\(name)'s target is untouched")
            try FileManager.default.removeItem(at: file)
            try saved.write(to: file)
        }
        // Below the policy check: the lock itself is never opened through a link.
        let lock = run.appendingPathComponent(".lock")
        try FileManager.default.removeItem(at: lock)
        try FileManager.default.createSymbolicLink(at: lock, withDestinationURL: target)
        let direct = message { _ = try OutputFiles.openInPlace(lock.path, flags: O_RDWR | O_CREAT, what: "lock file") }
        XCTAssertTrue(direct.contains("is a symbolic link"), direct)
        XCTAssertEqual(try String(contentsOf: target, encoding: .utf8), "precious\n")
    }

    func testALinkedSamplesFolderIsRefused() throws {
        // Found by the resume-state fuzz kind: samples written through a link landed in another folder.
        let run = folder.appendingPathComponent("run")
        try HarnessTests.train(run, steps: 50)
        let elsewhere = folder.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let samples = run.appendingPathComponent("samples")
        try FileManager.default.removeItem(at: samples)
        try FileManager.default.createSymbolicLink(at: samples, withDestinationURL: elsewhere)
        let refused = message { try HarnessTests.train(run, steps: 60, resume: true) }
        XCTAssertTrue(refused.contains("samples is a symbolic link"), refused)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path), [], "nothing written through the link")
    }

    func testARunFileThatIsAFolderIsAMessage() throws {
        let run = folder.appendingPathComponent("run")
        try HarnessTests.train(run, steps: 50)
        let checkpoint = run.appendingPathComponent("checkpoint.safetensors")
        try FileManager.default.moveItem(at: checkpoint, to: folder.appendingPathComponent("saved.safetensors"))
        try FileManager.default.createDirectory(at: checkpoint, withIntermediateDirectories: true)
        let refused = message { try HarnessTests.train(run, steps: 60, resume: true) }
        XCTAssertTrue(refused.contains("checkpoint.safetensors is a folder"), refused)
        XCTAssertFalse(refused.contains("NSCocoaErrorDomain"), refused)

        let fresh = folder.appendingPathComponent("fresh")
        try FileManager.default.createDirectory(at: fresh.appendingPathComponent("log.jsonl"), withIntermediateDirectories: true)
        try OutputFiles.mark(folder: fresh.path)
        let log = message { try HarnessTests.train(fresh, steps: 5) }
        XCTAssertTrue(log.contains("log.jsonl is a folder"), log)
        XCTAssertFalse(log.contains("NSCocoaErrorDomain"), log)
    }

    func testANewRunNeedsANewEmptyOrMagvitFolder() throws {
        let theirs = folder.appendingPathComponent("theirs")
        try FileManager.default.createDirectory(at: theirs, withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: theirs.appendingPathComponent("notes.md"))
        let refused = message { try HarnessTests.train(theirs, steps: 5) }
        XCTAssertTrue(refused.contains("already holds files Magvit did not write (notes.md)"), refused)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: theirs.path), ["notes.md"], "nothing written there")

        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        try HarnessTests.train(empty, steps: 5)
        XCTAssertTrue(FileManager.default.fileExists(atPath: empty.appendingPathComponent(OutputFiles.folderMarker).path))
    }
}

final class RunLogNumbersTests: XCTestCase {
    func testADivergedLossStopsWithAMessageAndOtherNonFiniteValuesAreLeftOut() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-runlog-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("log.jsonl")
        let log = try RunLog(url: url, keepingThrough: nil, tensorBoard: false, echo: { _ in })
        XCTAssertThrowsError(try log.record(["loss": Double.infinity, "lr": 1e-4], step: 3)) { error in
            XCTAssertTrue("\(error)".contains("training diverged: the loss is inf at step 3"), "\(error)")
        }
        try log.record(["kind": "eval", "psnr": 20.0, "fid": Double.nan], step: 4)
        let line = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(line.contains("\"psnr\":20") && !line.contains("fid") && !line.contains("inf"), line)
    }

    func testATimeBudgetBoundsTheETABeforeItFitsTheStepCount() {
        // 4 of a ceiling of 100,000 steps at 0.12 steps/s: the pace alone says 231 hours.
        XCTAssertEqual(RunLog.eta(step: 4, of: 100_000, stepsPerSecond: 0.12), 99_996 / 0.12, accuracy: 1e-6)
        XCTAssertEqual(RunLog.eta(step: 4, of: 100_000, stepsPerSecond: 0.12, timeLeft: 3_560), 3_560)
        XCTAssertEqual(RunLog.eta(step: 90, of: 100, stepsPerSecond: 1, timeLeft: 3_560), 10)
        XCTAssertEqual(RunLog.eta(step: 90, of: 100, stepsPerSecond: 1, timeLeft: -5), 0)
        XCTAssertEqual(RunLog.eta(step: 0, of: 100, stepsPerSecond: 0, timeLeft: 60), 0)
        XCTAssertEqual(RunLog.duration(RunLog.eta(step: 4, of: 100_000, stepsPerSecond: 0.12, timeLeft: 3_560)), "59m20s")
    }
}
