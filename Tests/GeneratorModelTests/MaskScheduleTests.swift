import GeneratorModel
import XCTest

final class MaskScheduleTests: XCTestCase {
    func testCosineScheduleValues() {
        XCTAssertEqual(MaskSchedule.maskedFraction(0), 1, accuracy: 1e-12)
        XCTAssertEqual(MaskSchedule.maskedFraction(0.5), 0.5.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(MaskSchedule.maskedFraction(1), 0, accuracy: 1e-12)
        XCTAssertEqual(MaskSchedule.trainingMaskCount(uniform: 0, count: 256), 256)
        XCTAssertEqual(MaskSchedule.trainingMaskCount(uniform: 0.999_999, count: 256), 1)
        // 12 steps over 256 tokens: strictly decreasing to zero.
        let left = (0..<12).map { MaskSchedule.maskedAfterStep($0, of: 12, count: 256) }
        XCTAssertEqual(left.last, 0)
        XCTAssertEqual(left.first, Int((cos(Double.pi / 24) * 256).rounded(.down)))
        XCTAssertTrue(zip(left, left.dropFirst()).allSatisfy { $0 > $1 })
    }
}
