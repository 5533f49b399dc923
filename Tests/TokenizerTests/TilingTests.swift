// Encoding and decoding in spatial tiles: the tiles' layout, frames that fit one tile going whole,
// and each tile coded alone and put in its place.
import Foundation
import TestSupport
@testable import Tokenizer
import Torch
import XCTest

final class TilingTests: XCTestCase {
    func testCoresPartitionTheAxisAndWindowsStayWithinTheTile() {
        for length in 1...200 {
            for (tile, margin) in [(40, 4), (8, 0), (9, 4), (16, 2)] {
                let spans = SpatialTiling.spans(length: length, tile: tile, margin: margin)
                XCTAssertEqual(spans.first?.core.lowerBound, 0)
                XCTAssertEqual(spans.last?.core.upperBound, length)
                for (a, b) in zip(spans, spans.dropFirst()) { XCTAssertEqual(a.core.upperBound, b.core.lowerBound) }
                for span in spans {
                    XCTAssertLessThanOrEqual(span.window.count, tile, "length \(length) tile \(tile): \(spans)")
                    XCTAssertEqual(span.window.lowerBound, Swift.max(span.core.lowerBound - margin, 0))
                    XCTAssertEqual(span.window.upperBound, Swift.min(span.core.upperBound + margin, length))
                }
                if length <= tile { XCTAssertEqual(spans.count, 1) }
            }
        }
        // 768×576 through 8× tokens, 320-pixel tiles with 32 pixels of context: 2 rows, 3 columns.
        XCTAssertEqual(SpatialTiling.spans(length: 72, tile: 40, margin: 4).map(\.window), [0..<40, 32..<72])
        XCTAssertEqual(SpatialTiling.spans(length: 96, tile: 40, margin: 4).map(\.window), [0..<36, 28..<68, 60..<96])
    }

    func testBlendWeightsRiseOnlyAtInnerSides() throws {
        let inner = try SpatialTiling.ramp(.init(window: 4..<12, core: 8..<10), length: 20, factor: 2, margin: 4).toArray(Float.self)
        XCTAssertEqual(inner, [0.125, 0.375, 0.625, 0.875, 1, 1, 1, 1, 1, 1, 1, 1, 0.875, 0.625, 0.375, 0.125])
        let edge = try SpatialTiling.ramp(.init(window: 0..<4, core: 0..<2), length: 20, factor: 2, margin: 4).toArray(Float.self)
        XCTAssertEqual(edge, [1, 1, 1, 1, 0.875, 0.625, 0.375, 0.125])
    }

    func testTilesAreCodedAloneAndPutInTheirPlace() throws {
        Torch.manualSeed(3)
        let model = try VideoTokenizer(config: .tiny)  // 4× tokens: a 48×40 frame is 10×12 tokens
        let frames = try Tensor.rand([1, 3, 5, 40, 48]) * 2 - 1
        model.tiling = nil
        let whole = try model.encode(frames)
        // A tile as large as the frame: nothing changes.
        model.tiling = SpatialTiling(tile: 48, overlap: 8)
        XCTAssertEqual(try model.encode(frames).toArray(Int64.self), try whole.toArray(Int64.self))
        // 24-pixel tiles with 4 pixels of context: 2 rows × 3 columns of windows; each tile's kept
        // tokens are those of its window coded alone.
        let tiling = SpatialTiling(tile: 24, overlap: 4)
        model.tiling = tiling
        let tiled = try model.encode(frames)
        XCTAssertEqual(tiled.shape, whole.shape)
        let rows = SpatialTiling.spans(length: 10, tile: 6, margin: 1), columns = SpatialTiling.spans(length: 12, tile: 6, margin: 1)
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(columns.count, 3)
        model.tiling = nil
        for row in rows {
            for column in columns {
                let window = try frames.narrow(3, start: row.window.lowerBound * 4, length: row.window.count * 4)
                    .narrow(4, start: column.window.lowerBound * 4, length: column.window.count * 4)
                let alone = try model.encode(window).narrow(2, start: row.core.lowerBound - row.window.lowerBound, length: row.core.count)
                    .narrow(3, start: column.core.lowerBound - column.window.lowerBound, length: column.core.count)
                let placed = try tiled.narrow(2, start: row.core.lowerBound, length: row.core.count).narrow(3, start: column.core.lowerBound, length: column.core.count)
                XCTAssertEqual(try placed.toArray(Int64.self), try alone.toArray(Int64.self), "tile \(row.core) × \(column.core)")
            }
        }
        // Decoding: where only the first window has weight (before the next windows begin), the
        // blended frames are that window's decoding; everywhere they are finite and of the frame's size.
        let first = try model.decode(whole.narrow(2, start: 0, length: rows[0].window.count).narrow(3, start: 0, length: columns[0].window.count))
        model.tiling = tiling
        let blended = try model.decode(whole)
        XCTAssertEqual(blended.shape, [1, 3, 5, 40, 48])
        XCTAssertEqual(try blended.isNaN().any().item(), 0)
        let (h, w) = (rows[1].window.lowerBound * 4, columns[1].window.lowerBound * 4)
        let mine = try blended.narrow(3, start: 0, length: h).narrow(4, start: 0, length: w)
        XCTAssertLessThan(try (mine - first.narrow(3, start: 0, length: h).narrow(4, start: 0, length: w)).abs().max().item(), 1e-5)
        XCTAssertThrowsError(try { model.tiling = SpatialTiling(tile: 10, overlap: 4); return try model.encode(frames) }()) {
            XCTAssertTrue("\($0)".contains("multiples of 4"), "\($0)")
        }
    }
}
