// The tool campaign at CI size: a few dozen seeded cases of each kind (token datasets, tokenize
// states, resume states, the distributed environment, output paths) through the magvit tool; none
// may crash, hang, change a guarded file of its folder or anything in the canary tree outside it.
@testable import Hostile
import Foundation
import TestSupport
import Torch
import XCTest

final class ToolCampaignTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-tool-campaign-\(getpid())-\(UUID().uuidString.prefix(8))")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func smoke(_ kind: ToolKind, cases: Int = 24, file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        let report = try ToolCampaign.run(kind, tool: magvitTool, cases: cases, seed: 1, folder: folder, timeLimit: 60)
        XCTAssertEqual(report.tally.cases, cases, file: file, line: line)
        XCTAssertEqual(report.failures, 0, "\(report.summary)\n" + report.outcomes.problems.joined(separator: "\n"), file: file, line: line)
        XCTAssertGreaterThan(report.outcomes.refused, 0, report.summary, file: file, line: line)
    }

    func testTokenDatasets() throws { try smoke(.tokenDataset) }
    func testTokenizeStates() throws { try smoke(.tokenizeState) }
    func testResumeStates() throws { try smoke(.resumeState) }
    func testEnvironment() throws { try smoke(.environment) }
    func testOutputPaths() throws { try smoke(.outputPaths) }

    /// A long campaign runs in slices: cases 2 and 3 of a slice starting at 2 are those of a run from 0.
    func testASliceRunsTheCasesOfTheWholeRun() throws {
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        func labels(cases: Int, first: Int) throws -> [String] {
            var seen: [String] = []
            _ = try ToolCampaign.run(.outputPaths, tool: magvitTool, cases: cases, first: first, seed: 1,
                                     folder: folder.appendingPathComponent("from-\(first)"), timeLimit: 60) { seen.append($0) }
            return seen
        }
        let whole = try labels(cases: 4, first: 0), slice = try labels(cases: 2, first: 2)
        XCTAssertEqual(Array(whole.suffix(2)), slice)
        XCTAssertTrue(slice.first?.hasPrefix("case 2: ") == true, "\(slice)")
    }

    /// A slice given a deadline starts no case after it (here: one already past), and its count says so.
    func testNoCaseStartsAfterTheDeadline() throws {
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        var seen: [String] = []
        let report = try ToolCampaign.run(.outputPaths, tool: magvitTool, cases: 3, seed: 1, folder: folder, deadline: Date()) { seen.append($0) }
        XCTAssertEqual(report.tally.cases, 0, report.summary)
        XCTAssertEqual(seen, [])
    }

    /// Every output path a case is given lies in its own folder (lexically: the links in it lead to the
    /// canary tree, which the campaign checks), mutated or not; the first 10,000 cases' truncated and
    /// flipped absolute paths wrote into "/" and "/tmp".
    func testOutputPathsStayInTheirCaseFolder() throws {
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        let canary = try Canary(folder.appendingPathComponent("canary"))
        let fixtures = try ToolFixtures(.outputPaths, tool: magvitTool, folder: folder.appendingPathComponent("fixtures"), canary: canary)
        let stream = 91 + UInt64(ToolKind.allCases.firstIndex(of: .outputPaths)!)
        var mutatedAbsolute = 0
        for index in 0..<1_000 {
            let work = folder.appendingPathComponent("case")
            try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: work) }
            var random = SeededRandom(seed: 1, step: index, stream: stream)
            let plan = try fixtures.makeCase(index, random: &random, work: work)
            let arguments = try XCTUnwrap(plan.runs.first?.arguments)
            let destination = try XCTUnwrap(arguments.firstIndex(of: "-o").map { arguments[$0 + 1] }, "\(arguments)")
            let full = URL(fileURLWithPath: destination.hasPrefix("/") ? destination : work.path + "/" + destination).standardized.path
            XCTAssertTrue(full == work.path || full.hasPrefix(work.path + "/"), "case \(index): \(plan.what): \(destination.debugDescription) is \(full), outside \(work.path)")
            if destination.hasPrefix(work.path + "/"), plan.what.contains(", truncated to ") || plan.what.contains(", flipped to ") { mutatedAbsolute += 1 }
        }
        XCTAssertGreaterThan(mutatedAbsolute, 0, "no absolute path was mutated: the test checks nothing")
    }

    /// The canary sees a write through a link, a new file, a removed one and a changed mode, and is put back.
    func testCanaryNoticesChangesOutsideTheCase() throws {
        let canary = try Canary(folder.appendingPathComponent("canary"))
        let before = try Canary.fingerprint([canary.root])
        XCTAssertEqual(try Canary.fingerprint([canary.root]), before)
        let link = folder.appendingPathComponent("link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: canary.file)
        let edits: [() throws -> Void] = [
            { try Data("clobbered".utf8).write(to: link) },
            { try Data().write(to: canary.absent) },
            { try FileManager.default.removeItem(at: canary.folder.appendingPathComponent("sub/notes.md")) },
            { chmod(canary.file.path, 0o600) },
        ]
        for edit in edits {
            try edit()
            let after = try Canary.fingerprint([canary.root])
            XCTAssertNotEqual(after, before)
            XCTAssertFalse(Canary.differences(before, after).isEmpty)
            try canary.restore()
            XCTAssertEqual(try Canary.fingerprint([canary.root]), before)
        }
    }

    /// A case's exit decides its class: signals and statuses of 128 and more (but 130 and 143) are crashes.
    func testExitsAreClassified() {
        func classify(_ execution: Execution) -> ToolReport {
            var report = ToolReport(kind: .environment)
            ToolCampaign.record([execution], label: "x", into: &report)
            return report
        }
        XCTAssertEqual(classify(.init(status: 0)).outcomes.completed, 1)
        XCTAssertEqual(classify(.init(status: 1, output: "Error: no")).outcomes.refused, 1)
        XCTAssertEqual(classify(.init(status: 130)).outcomes.refused, 1)
        XCTAssertEqual(classify(.init(status: 143)).outcomes.refused, 1)
        for status: Int32 in [132, 133, 134, 139, 255] { XCTAssertEqual(classify(.init(status: status)).outcomes.crashes, 1, "\(status)") }
        XCTAssertEqual(classify(.init(signal: SIGILL)).outcomes.crashes, 1)
        XCTAssertEqual(classify(.init(hung: true)).outcomes.hangs, 1)
        XCTAssertEqual(classify(.init(status: 1, output: "Error Domain=NSCocoaErrorDomain Code=514")).rawMessages, 1)
    }
}
