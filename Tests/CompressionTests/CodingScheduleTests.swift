// The coding schedule: groups partition every frame, the first groups are evenly spread coarse grids
// (a Bayer order), and steps run group by group, frame by frame.
@testable import Compression
import XCTest

final class CodingScheduleTests: XCTestCase {
    func testGroupsPartitionTheGridInBayerOrder() throws {
        for groups in CodingSchedule.allowedGroups {
            let schedule = try CodingSchedule(groups: groups)
            let steps = schedule.steps(t: 3, h: 9, w: 11)
            XCTAssertEqual(steps.count, groups * 3)
            XCTAssertEqual(steps.flatMap(\.positions).sorted(), Array(0..<(3 * 9 * 11)), "\(groups) groups cover each position once")
            XCTAssertEqual(steps.map(\.group), (0..<groups).flatMap { Array(repeating: $0, count: 3) })
            XCTAssertEqual(steps.map(\.frame), (0..<groups).flatMap { _ in [0, 1, 2] })
        }
        let four = try CodingSchedule(groups: 4)
        XCTAssertEqual((0..<2).map { y in (0..<2).map { x in four.group(y: y, x: x) } }, [[0, 2], [3, 1]])
        let sixteen = try CodingSchedule(groups: 16)
        XCTAssertEqual((0..<4).map { y in (0..<4).map { x in sixteen.group(y: y, x: x) } },
                       [[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], "the 4×4 Bayer matrix")
        XCTAssertThrowsError(try CodingSchedule(groups: 3))
    }
}
