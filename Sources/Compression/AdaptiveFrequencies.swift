// The model-free baseline of the token codec: each sub-token coded under adaptive frequencies of
// its factor (every value starts at 1, each coded value adds `increment`, all halved when the total
// would pass the coder's 2^16), learned over the whole stream as it is coded.

/// Adaptive frequencies of one alphabet.
struct AdaptiveFrequencies {
    static let increment: UInt32 = 24
    private(set) var counts: [UInt32]
    private var total: UInt32

    init(size: Int) {
        counts = [UInt32](repeating: 1, count: size)
        total = UInt32(size)
    }

    var table: FrequencyTable { FrequencyTable(frequencies: counts) }

    mutating func update(_ symbol: Int) {
        counts[symbol] += Self.increment
        total += Self.increment
        if Int(total) > FrequencyTable.maxTotal - Int(Self.increment) {
            total = 0
            for i in counts.indices {
                counts[i] = (counts[i] + 1) / 2
                total += counts[i]
            }
        }
    }
}
