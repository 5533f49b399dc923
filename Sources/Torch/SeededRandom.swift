// Reproducible randomness for data and training: SplitMix64 (Steele, Lea & Flood 2014), with one
// independent stream per (seed, step) so that step s draws the same numbers whether the run was
// interrupted or not, and whichever thread prepares its batch.
import Foundation

public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The stream of step `step` of a run seeded with `seed`.
    public init(seed: UInt64, step: Int, stream: UInt64 = 0) {
        var mixer = SeededRandom(seed: seed ^ (0x9E37_79B9_7F4A_7C15 &* (UInt64(bitPattern: Int64(step)) &+ 1)) ^ (stream &* 0xD1B5_4A32_D192_ED03))
        state = mixer.next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1).
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
