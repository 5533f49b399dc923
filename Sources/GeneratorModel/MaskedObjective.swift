// The training objective: mask a cosine-scheduled random fraction of each example's free tokens
// (MaskSchedule.trainingMaskCount), predict them, cross-entropy with label smoothing on the masked
// sub-tokens averaged over factors; the class is replaced by the null class with probability
// conditionDropout so one model serves conditional and unconditional logits (guidance). With coding
// masks, a fraction of the examples are masked as the codec sees them instead: every position from a
// random step of the coding schedule on (CodingSchedule), so the model learns the conditionals the
// codec asks for.
import Foundation
import NN
import Torch

/// Masks shaped by the codec's coding schedule for a fraction of the examples (0: none).
public struct CodingMasks: Codable, Equatable, Sendable {
    public var fraction = 0.0
    public var groups = 4

    public init(fraction: Double = 0, groups: Int = 4) { (self.fraction, self.groups) = (fraction, groups) }
}

public struct MaskedLoss {
    public let loss: Tensor
    /// Fraction of masked tokens whose every sub-token was predicted right (argmax).
    public let accuracy: Double
    public let maskedFraction: Double
}

extension MaskedTransformer {
    /// Loss on token ids (B, L). Draws from torch's generator (seed it for reproducibility).
    ///
    /// With `parallel`, `tokens` are this rank's slice of a global batch: the random draws are made
    /// for the whole global batch (the same on every rank, seeded alike) and sliced, and the loss and
    /// accuracy are normalised by the global masked count, so that the ranks' mean gradient and
    /// logged numbers equal those of one process on the global batch.
    public func maskedLoss(tokens: Tensor, classes: Tensor? = nil, codingMasks: CodingMasks = CodingMasks(), parallel: (any DataParallelRanks)? = nil) throws -> MaskedLoss {
        let (b, l) = (tokens.size(0), tokens.size(1))
        let free = config.generatedTokens
        let world = parallel?.worldSize ?? 1, first = (parallel?.rank ?? 0) * b
        func draw(_ shape: [Int], _ dtype: DType = .float32) throws -> Tensor {
            try Tensor.rand([b * world] + shape, dtype: dtype, device: dtype == .float64 ? .cpu : device).narrow(0, start: first, length: b)
        }
        let masked = try trainingMasks(batch: b, codingMasks: codingMasks, draw: draw)
        let ids = try tokens.to(.int64, device)
        let targets = try factorization.split(ids)
        let inputs = try targets.enumerated().map { i, t in try which(masked, Tensor(scalar: Double(maskID(i)), dtype: .int64, device: device), t) }
        var condition: Tensor? = nil
        if let classes, config.classes > 0 {
            let drop = try draw([], .float32).lt(config.conditionDropout)
            condition = try which(drop, Tensor(scalar: Double(nullClass), dtype: .int64, device: device), classes.to(.int64, device))
        }
        let logits = try self.logits(inputs, classes: condition, training: true)
        let weight = try masked.to(.float32).reshape([b * l])
        // Normalised by the masked tokens of the global batch (× world: the ranks' gradients are averaged).
        let localCount = try weight.sum()
        let maskedCount = try parallel.map { try $0.sum(localCount) / Double(world) } ?? localCount
        var loss: Tensor? = nil
        var allRight = masked
        for (logit, target) in zip(logits, targets) {
            let flat = try logit.reshape([b * l, logit.size(2)])
            let ce = try crossEntropy(flat, target.reshape([b * l]), reduction: .none, labelSmoothing: config.labelSmoothing)
            let term = try (ce * weight).sum() / maskedCount
            loss = try loss.map { try $0 + term } ?? term
            allRight = try allRight.logicalAnd(logit.argmax(dim: 2).eq(target))
        }
        let n = try maskedCount.item()
        return MaskedLoss(loss: try loss! / Double(logits.count), accuracy: try allRight.to(.float32).sum().item() / n,
                          maskedFraction: try localCount.item() / Double(b * free))
    }

    /// (B, L) bool: the positions an example masks, from torch's generator through `draw` (shape after
    /// the batch dimension → uniform [0, 1) values).
    func trainingMasks(batch b: Int, codingMasks: CodingMasks, draw: ([Int], DType) throws -> Tensor) throws -> Tensor {
        let given = config.givenTokens, free = config.generatedTokens
        // Mask counts per example from u ~ U(0, 1), then the positions: the `count` smallest of random keys.
        let u = try draw([], .float64).toArray(Double.self)
        let counts = try Tensor(u.map { Int64(MaskSchedule.trainingMaskCount(uniform: $0, count: free)) }, shape: [b, 1], device: device)
        let ranks = try draw([free], .float32).sorted(dim: 1).indices.sorted(dim: 1).indices
        var masked = try ranks.lt(counts)  // (B, free) bool
        if codingMasks.fraction > 0 {  // (conditionFrames is 0: free is the whole grid)
            let (t, h, w) = (config.grid[0], config.grid[1], config.grid[2])
            let schedule = try CodingSchedule(groups: codingMasks.groups)
            let steps = try Tensor(schedule.stepIndices(t: t, h: h, w: w).map(Int64.init), shape: [1, free], device: device)
            let from = try (draw([1], .float32) * Double(codingMasks.groups * t)).floor().to(.int64)  // (B, 1): the step being coded
            let coded = try draw([1], .float32).lt(codingMasks.fraction)
            masked = try which(coded, steps.ge(from), masked)
        }
        if given > 0 { masked = try concatenate([Tensor.zeros([b, given], dtype: .bool, device: device), masked], dim: 1) }
        return masked
    }
}
