// Numbers from outside (files, the environment, configs, checkpoints) into the integers the code
// computes with. The rule (docs/robustness.md): such a number is checked against its range before any
// arithmetic, and every sum, product or shift of such numbers and every conversion of one from
// floating point or to a narrower integer goes through these helpers, which throw a `NumberError`
// naming the field and its allowed range instead of trapping. CheckedNumbersTests scans Sources/ for
// conversions that bypass them.

/// A number outside the range its field allows.
public struct NumberError: Error, CustomStringConvertible, Sendable {
    /// What the number is, as a user would find it (`WORLD_SIZE`, `shard 3 clips`).
    public let field: String
    /// The allowed range or form, in words.
    public let allowed: String
    public let found: String

    public init(_ field: String, allowed: String, found: String) {
        (self.field, self.allowed, self.found) = (field, allowed, found)
    }

    public var description: String { "\(field) must be \(allowed), found \(found)" }
}

/// Checked conversions and arithmetic for numbers from outside.
public enum Checked {
    /// `value` as a whole number in `range`; NaN, infinities, fractions and values outside the range
    /// are refused.
    public static func int<F: BinaryFloatingPoint>(_ value: F, _ field: String, in range: ClosedRange<Int>) throws(NumberError) -> Int {
        guard let whole = Int(exactly: value), range.contains(whole) else {
            throw NumberError(field, allowed: "a whole number in \(range.lowerBound)...\(range.upperBound)", found: "\(value)")
        }
        return whole
    }

    /// `value` rounded toward zero and clamped to `range`, for a number where saturating is the
    /// meaning (a time budget of 10^300 s allows every step); only NaN is refused.
    public static func int<F: BinaryFloatingPoint>(clamping value: F, to range: ClosedRange<Int>, _ field: String) throws(NumberError) -> Int {
        guard !value.isNaN else { throw NumberError(field, allowed: "a number", found: "nan") }
        if value <= F(range.lowerBound) { return range.lowerBound }
        // F(upperBound) may round up past it (2^63 for Int.max), so the comparison is >=.
        if value >= F(range.upperBound) { return range.upperBound }
        return Int(value.rounded(.towardZero))
    }

    /// A finite `value` in `range`.
    public static func finite<F: BinaryFloatingPoint>(_ value: F, _ field: String, in range: ClosedRange<F>) throws(NumberError) -> F {
        guard value.isFinite, range.contains(value) else {
            throw NumberError(field, allowed: "a finite number in \(range.lowerBound)...\(range.upperBound)", found: "\(value)")
        }
        return value
    }

    /// An integer as another integer type (usually a narrower one: `Int32` for the C shim), in `range`.
    public static func integer<T: FixedWidthInteger, I: BinaryInteger>(_ value: I, as type: T.Type, _ field: String,
                                                                      in range: ClosedRange<T> = T.min...T.max) throws(NumberError) -> T {
        guard let narrowed = T(exactly: value), range.contains(narrowed) else {
            throw NumberError(field, allowed: "\(range.lowerBound)...\(range.upperBound)", found: "\(value)")
        }
        return narrowed
    }

    /// The sum of `values`, refused when it leaves Int's range.
    public static func sum<S: Sequence>(_ values: S, _ field: String) throws(NumberError) -> Int where S.Element == Int {
        var total = 0
        for value in values {
            let (next, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { throw NumberError(field, allowed: "a sum within \(Int.min)...\(Int.max)", found: "an overflow past \(total) + \(value)") }
            total = next
        }
        return total
    }

    /// The product of `values`, refused when it leaves Int's range.
    public static func product<S: Sequence>(_ values: S, _ field: String) throws(NumberError) -> Int where S.Element == Int {
        var total = 1
        for value in values {
            let (next, overflow) = total.multipliedReportingOverflow(by: value)
            guard !overflow else { throw NumberError(field, allowed: "a product within \(Int.min)...\(Int.max)", found: "an overflow past \(total) × \(value)") }
            total = next
        }
        return total
    }

    /// `base << count` for a count in 0...62 whose result keeps every bit of `base` (Swift's `<<`
    /// quietly gives 0 past the width and shifts right for a negative count).
    public static func shift(_ base: Int = 1, by count: Int, _ field: String) throws(NumberError) -> Int {
        guard (0...62).contains(count), base == (base << count) >> count else {
            throw NumberError(field, allowed: "a shift of \(base) by 0...62 bits that fits in 63 bits", found: "\(count)")
        }
        return base << count
    }
}
