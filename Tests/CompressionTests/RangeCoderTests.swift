// The range coder on its own: random symbol streams under random tables round-trip exactly, the
// bytes come within a few of the ideal cost, extreme tables exercise the carry, and quantized tables
// are exact and safe for any floats.
@testable import Compression
import Torch
import XCTest

final class RangeCoderTests: XCTestCase {
    func randomTable(_ g: inout SeededRandom) -> FrequencyTable {
        let n = 2 + Int(g.next() % 600)
        let skew = Int(g.next() % 3)
        var frequencies = (0..<n).map { _ -> UInt32 in
            switch skew {
            case 0: return 1 + UInt32(g.next() % 50)
            case 1: return g.next() % 8 == 0 ? 1 + UInt32(g.next() % 2000) : 1
            default: return 1
            }
        }
        if skew == 2 { frequencies[Int(g.next() % UInt64(n))] = UInt32(FrequencyTable.maxTotal - n + 1) }  // one symbol ~ all the mass
        while frequencies.reduce(0, +) > UInt32(FrequencyTable.maxTotal) { frequencies = frequencies.map { Swift.max(1, $0 / 2) } }
        return FrequencyTable(frequencies: frequencies)
    }

    func testRandomStreamsUnderRandomTablesRoundTrip() throws {
        var g = SeededRandom(seed: 7)
        for trial in 0..<40 {
            let tables = (0..<8).map { _ in randomTable(&g) }
            var symbols: [(table: Int, symbol: Int)] = []
            var ideal = 0.0
            var encoder = RangeEncoder()
            for _ in 0..<(1 + Int(g.next() % 3000)) {
                let t = Int(g.next() % UInt64(tables.count)), table = tables[t]
                // Draw the symbol from the table itself half the time (typical streams), uniformly otherwise (rare symbols).
                let symbol = g.next() % 2 == 0 ? table.symbol(containing: UInt32(g.next() % UInt64(table.total))) : Int(g.next() % UInt64(table.count))
                encoder.encode(symbol, table)
                ideal += table.bits(symbol)
                symbols.append((t, symbol))
            }
            let bytes = encoder.finish()
            var decoder = RangeDecoder(bytes)
            for (i, s) in symbols.enumerated() {
                XCTAssertEqual(decoder.decode(tables[s.table]), s.symbol, "trial \(trial), symbol \(i)")
            }
            XCTAssertLessThanOrEqual(decoder.overrun, 0, "a complete stream needs no bytes past its end")
            XCTAssertLessThanOrEqual(Double(bytes.count), ideal / 8 * 1.001 + 6, "trial \(trial): \(bytes.count) bytes for \(ideal / 8) ideal")
        }
    }

    func testUniformValuesAndCarryRuns() throws {
        var g = SeededRandom(seed: 3)
        // The most probable symbol of a table with almost all the mass, thousands of times, then the rarest:
        // long runs of 0xFF bytes waiting for a carry.
        let table = FrequencyTable(frequencies: [UInt32(FrequencyTable.maxTotal - 1), 1])
        var encoder = RangeEncoder()
        var expected: [Int] = []
        for i in 0..<20000 {
            let s = i % 997 == 0 ? 1 : 0
            encoder.encode(s, table)
            expected.append(s)
            let u = Int(g.next() % 4096)
            encoder.encodeUniform(u, bits: 12)
            expected.append(u)
        }
        var decoder = RangeDecoder(encoder.finish())
        for (i, s) in expected.enumerated() {
            XCTAssertEqual(i % 2 == 0 ? decoder.decode(table) : decoder.decodeUniform(bits: 12), s, "value \(i)")
        }
    }

    func testQuantizedTablesAreExactAndSafe() throws {
        var g = SeededRandom(seed: 11)
        for n in [2, 3, 512, 4096] {
            let p = (0..<n).map { _ in Float(g.next() % 1000) / 1000 }
            let table = p.withUnsafeBufferPointer { FrequencyTable.quantized($0) }
            XCTAssertEqual(Int(table.total), FrequencyTable.maxTotal)
            XCTAssertEqual(table.count, n)
            XCTAssertTrue(zip(table.cumulative, table.cumulative.dropFirst()).allSatisfy { $0 < $1 }, "every symbol has a frequency")
            XCTAssertEqual(table, p.withUnsafeBufferPointer { FrequencyTable.quantized($0) }, "deterministic")
        }
        for hostile: [Float] in [[.nan, 1, 2], [.infinity, 1, 1], [-1, 0, 0], [0, 0, 0], [Float.greatestFiniteMagnitude, .greatestFiniteMagnitude, 1]] {
            let table = hostile.withUnsafeBufferPointer { FrequencyTable.quantized($0) }
            XCTAssertEqual(Int(table.total), FrequencyTable.maxTotal, "\(hostile)")
            XCTAssertTrue(zip(table.cumulative, table.cumulative.dropFirst()).allSatisfy { $0 < $1 }, "\(hostile)")
        }
        // A near-certain symbol costs almost nothing, the floor keeps the rest codable.
        let sure = ([1] + [Float](repeating: 0, count: 511)).withUnsafeBufferPointer { FrequencyTable.quantized($0) }
        XCTAssertLessThan(sure.bits(0), 0.02)
        XCTAssertEqual(sure.bits(5), 16, accuracy: 1e-9)
    }

    func testDamagedStreamsDecodeWithoutTrapping() throws {
        var g = SeededRandom(seed: 5)
        let table = FrequencyTable(frequencies: [UInt32](repeating: 100, count: 300))
        for _ in 0..<200 {
            let bytes = (0..<Int(g.next() % 40)).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            var decoder = RangeDecoder(bytes)
            for _ in 0..<100 { XCTAssertLessThan(decoder.decode(table), 300) }
        }
    }
}
