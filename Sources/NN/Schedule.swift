// Learning-rate schedule: linear warmup then cosine decay (Loshchilov & Hutter 2017, as in nanoGPT).
import Foundation

/// lr(step): linear from 0 to `peak` over `warmupSteps`, then a half cosine down to `floor` at `totalSteps`.
public struct WarmupCosine: Codable, Sendable {
    public var peak: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    public var floor: Double

    public init(peak: Double, warmupSteps: Int, totalSteps: Int, floor: Double = 0) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.floor = floor
    }

    /// The rate for the update that follows `step` completed steps.
    public func callAsFunction(_ step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps) }
        if step >= totalSteps { return floor }
        let progress = Double(step - warmupSteps) / Double(Swift.max(1, totalSteps - warmupSteps))
        return floor + 0.5 * (peak - floor) * (1 + cos(Double.pi * progress))
    }
}
