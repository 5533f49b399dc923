// The CI size of the fuzz campaign (the long one is `magvit-bench fuzz`, docs/robustness.md): every
// input kind, seeded, finishes (no crash, no hang) with each case either refused with an error or
// accepted, and refuses most mutated inputs.
import Foundation
import Hostile
import XCTest

final class CampaignTests: XCTestCase {
    func testEveryInputKindOnlyAcceptsOrRefuses() throws {
        for kind in InputKind.allCases {
            // Media cases start ffprobe and ffmpeg (about 0.1-0.3 s each), and a clip with flipped pixel bits is still a clip.
            let (cases, refusedAtLeast) = kind == .media ? (80, 20) : (400, 200)
            let report = try Campaign.run(kind, cases: cases, seed: 1)
            XCTAssertEqual(report.tally.cases, cases)
            XCTAssertGreaterThan(report.refused, refusedAtLeast, "\(kind): \(report.summary)")
            XCTAssertLessThan(report.tally.slowest, 5, "\(kind): a case took \(report.tally.slowest) s")
        }
    }
}
