// The CI size of the fuzz campaign (the long one is `magvit-bench fuzz`, docs/robustness.md): every
// input kind, seeded, finishes (no crash, no hang) with each case either refused with an error or
// accepted, and refuses most mutated inputs.
import Foundation
import Hostile
import XCTest

final class CampaignTests: XCTestCase {
    func testEveryInputKindOnlyAcceptsOrRefuses() throws {
        for kind in InputKind.allCases {
            let report = try Campaign.run(kind, cases: 400, seed: 1)
            XCTAssertEqual(report.cases, 400)
            XCTAssertGreaterThan(report.refused, 200, "\(kind): \(report.summary)")
            XCTAssertLessThan(report.slowest, 5, "\(kind): a case took \(report.slowest) s")
        }
    }
}
