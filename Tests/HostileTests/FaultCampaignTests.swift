// The fault campaign at CI size: seeded cases of the tool under signals, file size limits and
// hostile destinations and inputs; none may hang, crash, leave temporaries or orphan ffmpeg.
import Foundation
import Hostile
import TestSupport
import XCTest

final class FaultCampaignTests: XCTestCase {
    func testSeededFaultsLeaveNoHangsCrashesLeftoversOrOrphans() throws {
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-fault-campaign-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = try FaultCampaign.run(tool: magvitTool, cases: 24, seed: 7, folder: folder)
        XCTAssertEqual(report.tally.cases, 24)
        XCTAssertEqual(report.outcomes.problems, [], report.summary)
        XCTAssertGreaterThan(report.outcomes.refused, 0, report.summary)
        XCTAssertGreaterThan(report.outcomes.completed + report.interrupted, 0, report.summary)
    }
}
