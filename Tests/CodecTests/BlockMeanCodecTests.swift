// The block-mean floor (issue 31): its blocks follow the tokenizer's (first frame alone, then groups of
// the temporal factor), its rate is the tokenizer's, and it is exact where the content is.
import Codec
import TestSupport
import Tokenizer
import Torch
import XCTest

final class BlockMeanCodecTests: XCTestCase {
    func testRateMatchesTheTokenizer() throws {
        let floor = BlockMeanCodec(matching: .videoSmall)
        XCTAssertEqual(floor.bitsPerChannel, 6)
        XCTAssertEqual(floor.bitsPerBlock, 18)
        // 17 frames of 64x64: 5x8x8 tokens of 18 bits.
        XCTAssertEqual(floor.bitsPerPixel(frames: 17), Double(5 * 8 * 8 * 18) / Double(17 * 64 * 64), accuracy: 1e-12)
    }

    func testBlocksAreTheTokenizersAndHeldInTime() throws {
        let floor = BlockMeanCodec(temporalFactor: 4, spatialFactor: 8, bitsPerChannel: 6)
        let frames = try Tensor.rand([7, 16, 24, 3])  // 1 + 4 + 2 frames: the last group is short
        let coded = try floor.reconstruct(frames)
        XCTAssertEqual(coded.shape, [7, 16, 24, 3])
        for (start, length) in [(1, 4), (5, 2)] {
            for i in 1..<length {
                try assertClose(coded.select(0, start + i), coded.select(0, start), atol: 0, "frame \(start + i) holds its group's frame")
            }
        }
        XCTAssertGreaterThan(try (coded.select(0, 0) - coded.select(0, 1)).abs().max().item(), 0, "the first frame is coded alone")
    }

    func testConstantBlocksComeBackAtTheirQuantizedColour() throws {
        let floor = BlockMeanCodec(temporalFactor: 4, spatialFactor: 8, bitsPerChannel: 6)
        let colour = try Tensor([0.2, 0.5, 0.9] as [Float], shape: [1, 1, 1, 3])
        let frames = try colour.expand([5, 16, 16, 3]).contiguous()
        let coded = try floor.reconstruct(frames)
        let levels = 63.0
        let expected = try ((colour * levels).round() / levels).expand([5, 16, 16, 3])
        try assertClose(coded, expected, atol: 1e-6)
        XCTAssertLessThanOrEqual(try (coded - frames).abs().max().item(), 0.5 / levels + 1e-6)
    }

    func testRefusesFramesOffTheBlockGrid() throws {
        let floor = BlockMeanCodec(temporalFactor: 4, spatialFactor: 8, bitsPerChannel: 6)
        XCTAssertThrowsError(try floor.reconstruct(Tensor.rand([5, 12, 16, 3])))
    }
}
