// The coding schedule: groups partition every frame, the first groups are evenly spread coarse grids
// (a Bayer order), and steps run group by group, frame by frame.
@testable import GeneratorModel
import Torch
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
        // Step indices agree with the steps' positions.
        let steps = four.steps(t: 2, h: 3, w: 5), index = four.stepIndices(t: 2, h: 3, w: 5)
        for (s, step) in steps.enumerated() { XCTAssertTrue(step.positions.allSatisfy { index[$0] == s }) }
    }
}

final class CodingMaskTests: XCTestCase {
    func testCodingMasksHideEveryPositionFromAStepOn() throws {
        var config = GeneratorConfig()
        config.vocabularyBits = 6; config.factorBits = [6]; config.grid = [2, 4, 4]
        config.width = 16; config.depth = 1; config.heads = 2
        let model = try MaskedTransformer(config: config)
        let steps = try CodingSchedule(groups: 4).stepIndices(t: 2, h: 4, w: 4)
        Torch.manualSeed(3)
        func draw(_ shape: [Int], _ dtype: DType) throws -> Tensor { try Tensor.rand([64] + shape, dtype: dtype) }
        let masks = try model.trainingMasks(batch: 64, codingMasks: CodingMasks(fraction: 1, groups: 4), draw: draw)
        var firsts = Set<Int>()
        for row in try masks.to(.int64).toArray(Int64.self).chunked(32) {
            let first = steps.indices.filter { row[$0] == 1 }.map { steps[$0] }.min()!
            XCTAssertEqual(row, steps.map { $0 >= first ? 1 : 0 }, "masked exactly from step \(first) on")
            firsts.insert(first)
        }
        XCTAssertEqual(firsts, Set(0..<8), "every step of the schedule is drawn")
        // Without coding masks, the same draws give MaskGIT's random masks (not schedule-shaped).
        Torch.manualSeed(3)
        let plain = try model.trainingMasks(batch: 64, codingMasks: CodingMasks(), draw: draw)
        XCTAssertNotEqual(try plain.to(.int64).toArray(Int64.self), try masks.to(.int64).toArray(Int64.self))
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] { stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) } }
}
