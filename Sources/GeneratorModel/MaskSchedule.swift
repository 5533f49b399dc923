// The MaskGIT masking schedule (Chang et al. 2022, §3.2; MAGVIT-v2 §3.2): the fraction of tokens
// still masked is γ(r) = cos(π/2 · r) for r ∈ [0, 1].
import Foundation

/// The cosine schedule γ(r) = cos(π/2 · r): 1 at r = 0 (everything masked), 0 at r = 1.
public enum MaskSchedule {
    /// The masked fraction γ(r).
    public static func maskedFraction(_ r: Double) -> Double {
        cos(Double.pi / 2 * Swift.min(Swift.max(r, 0), 1))
    }

    /// Training: the number of masked tokens out of `count` for a uniform draw `u` ∈ [0, 1):
    /// ⌈γ(u) · count⌉, at least one so every example has something to predict.
    public static func trainingMaskCount(uniform u: Double, count: Int) -> Int {
        Swift.max(1, Swift.min(count, Int((maskedFraction(u) * Double(count)).rounded(.up))))
    }

    /// Decoding: how many of `count` tokens stay masked after step `t` (0-based) of `steps`:
    /// ⌊γ((t + 1) / T) · count⌋, so the last step leaves none.
    public static func maskedAfterStep(_ t: Int, of steps: Int, count: Int) -> Int {
        Int((maskedFraction(Double(t + 1) / Double(steps)) * Double(count)).rounded(.down))
    }
}
