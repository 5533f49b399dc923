// A multi-symbol range coder (Martin 1979; the carry handling of LZMA's coder): symbols coded under
// integer frequency tables whose totals are at most 2^16, 32-bit range, bytes out in order. The
// decoder never traps on a damaged stream: it reads zeros past the end (counting them) and its
// arithmetic wraps, so damage shows as wrong symbols, which the stream's checksums catch.
import Foundation

/// Frequencies of symbols 0..<n, each at least 1, as cumulative counts.
public struct FrequencyTable: Sendable, Equatable {
    /// The largest total a table may have: the coder's range keeps 24 bits after normalization, so
    /// range / total ≥ 2^8 and no symbol's interval is empty.
    public static let maxTotal = 1 << 16

    /// cumulative[i] = Σ frequency of symbols before i; cumulative[n] = total.
    public let cumulative: [UInt32]

    public var count: Int { cumulative.count - 1 }
    public var total: UInt32 { cumulative[cumulative.count - 1] }

    /// A table from positive frequencies summing to at most `maxTotal`.
    public init(frequencies: [UInt32]) {
        precondition(!frequencies.isEmpty && frequencies.allSatisfy { $0 > 0 }, "frequencies must be positive")
        var sums = [UInt32](repeating: 0, count: frequencies.count + 1)
        for (i, f) in frequencies.enumerated() { sums[i + 1] = sums[i] + f }
        precondition(Int(sums[frequencies.count]) <= Self.maxTotal, "total above 2^16")
        cumulative = sums
    }

    /// Probabilities (need not be normalized) quantized to frequencies summing to exactly `total`:
    /// each symbol gets 1 + ⌊pᵢ / Σp · (total − n)⌋ and what rounding leaves goes to the most
    /// probable symbol (the first, on ties). Deterministic for the same floats: the products are single
    /// IEEE operations, so encoder and decoder build the same table from the same probabilities.
    public static func quantized(_ probabilities: UnsafeBufferPointer<Float>, total: Int = maxTotal) -> FrequencyTable {
        let n = probabilities.count
        precondition(n > 0 && n < total && total <= maxTotal)
        func clean(_ p: Float) -> Float { p.isFinite ? Swift.max(p, 0) : 0 }
        var sum: Float = 0
        var best = 0
        for i in 0..<n {
            sum += clean(probabilities[i])
            if clean(probabilities[i]) > clean(probabilities[best]) { best = i }
        }
        let spare = Float(total - n)
        let scale: Float = sum > 0 && sum.isFinite ? spare / sum : 0
        var frequencies = [UInt32](repeating: 1, count: n)
        var used = n
        for i in 0..<n {
            let extra = Swift.min(Int((clean(probabilities[i]) * scale).rounded(.down)), total - used)
            frequencies[i] += UInt32(extra)
            used += extra
        }
        frequencies[best] += UInt32(total - used)
        return FrequencyTable(frequencies: frequencies)
    }

    /// The symbol whose interval holds `target` (< total).
    public func symbol(containing target: UInt32) -> Int {
        var low = 0, high = count  // cumulative[low] <= target < cumulative[high]
        while high - low > 1 {
            let mid = (low + high) / 2
            if cumulative[mid] <= target { low = mid } else { high = mid }
        }
        return low
    }

    /// The ideal cost of a symbol in bits, −log2(frequency / total).
    public func bits(_ symbol: Int) -> Double {
        -log2(Double(cumulative[symbol + 1] - cumulative[symbol]) / Double(total))
    }
}

/// Writes symbols into bytes.
public struct RangeEncoder: Sendable {
    private var low: UInt64 = 0
    private var range: UInt32 = 0xFFFF_FFFF
    /// The byte waiting for a possible carry, and how many bytes (it and 0xFF's after it) wait.
    private var cache: UInt8 = 0
    private var pending = 1
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func encode(_ symbol: Int, _ table: FrequencyTable) {
        let start = table.cumulative[symbol], frequency = table.cumulative[symbol + 1] - start
        let r = range / table.total
        low += UInt64(r) * UInt64(start)
        range = r * frequency
        while range < 1 << 24 {
            range <<= 8
            shiftLow()
        }
    }

    /// A value of `bits` (1…16) bits with every value equally likely.
    public mutating func encodeUniform(_ value: Int, bits: Int) {
        let r = range >> UInt32(bits)
        low += UInt64(r) * UInt64(value)
        range = r
        while range < 1 << 24 {
            range <<= 8
            shiftLow()
        }
    }

    /// Emits the top byte of `low`, holding back bytes a later carry could still change.
    private mutating func shiftLow() {
        if low < 0xFF00_0000 || low >= 1 << 32 {
            let carry = UInt8(truncatingIfNeeded: low >> 32)
            var byte = cache
            repeat {
                bytes.append(byte &+ carry)
                byte = 0xFF
                pending -= 1
            } while pending > 0
            cache = UInt8(truncatingIfNeeded: low >> 24)
        }
        pending += 1
        low = (low & 0x00FF_FFFF) << 8
    }

    /// Flushes and returns the stream.
    public mutating func finish() -> [UInt8] {
        for _ in 0..<5 { shiftLow() }
        return bytes
    }
}

/// Reads symbols back from bytes made by `RangeEncoder`.
public struct RangeDecoder {
    private let bytes: [UInt8]
    private var position = 0
    private var code: UInt32 = 0
    private var range: UInt32 = 0xFFFF_FFFF
    /// Bytes read past the end (as zeros): the encoder's flush writes 5, so a complete stream needs
    /// none; more than that means the stream was cut short.
    public private(set) var overrun = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        for _ in 0..<5 { code = (code << 8) | UInt32(next()) }
    }

    private mutating func next() -> UInt8 {
        guard position < bytes.count else {
            overrun += 1
            return 0
        }
        defer { position += 1 }
        return bytes[position]
    }

    public mutating func decode(_ table: FrequencyTable) -> Int {
        let r = range / table.total
        let target = Swift.min(code / r, table.total - 1)
        let symbol = table.symbol(containing: target)
        let start = table.cumulative[symbol]
        code = code &- start &* r
        range = r &* (table.cumulative[symbol + 1] - start)
        normalize()
        return symbol
    }

    public mutating func decodeUniform(bits: Int) -> Int {
        let r = range >> UInt32(bits)
        let value = Swift.min(code / r, (1 << UInt32(bits)) - 1)
        code = code &- value &* r
        range = r
        normalize()
        return Int(value)
    }

    private mutating func normalize() {
        while range < 1 << 24 {
            range <<= 8
            code = (code << 8) | UInt32(next())
        }
    }
}
