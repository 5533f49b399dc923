// A model's parameters with their AdamW optimizer and, when run.emaDecay > 0, their exponential
// moving average: the state every trainer checkpoints and the averaged weights it evaluates with,
// and the one optimizer step every trainer takes (nanoGPT's loop: zero-grad, micro-batches,
// backward, average over ranks, clip, update, EMA).
import Foundation
import NN
import Torch

public struct OptimizedModel {
    public let store: ParameterStore
    public let optimizer: AdamW
    public let ema: ExponentialMovingAverage?

    public init(_ store: ParameterStore, optimizer o: OptimizerConfig, emaDecay: Double) throws {
        self.store = store
        optimizer = AdamW(store.parameters, learningRate: o.learningRate, betas: (o.betas[0], o.betas[1]), weightDecay: o.weightDecay)
        ema = emaDecay > 0 ? try ExponentialMovingAverage(store.parameters, decay: emaDecay) : nil
    }

    /// "model", "optimizer" and, with an average, "ema".
    public var checkpointGroups: [String: any CheckpointGroup] {
        var groups: [String: any CheckpointGroup] = ["model": store, "optimizer": optimizer]
        if let ema { groups["ema"] = ema }
        return groups
    }

    /// The Trainer's `average`.
    public var average: (ema: ExponentialMovingAverage, store: ParameterStore)? { ema.map { ($0, store) } }

    /// One update over `parts` micro-batches at the step's learning rate × `rateScale`: `loss(i)` is
    /// micro-batch i's loss and its numbers; each loss is divided by `parts` before `backward`, so the
    /// gradients add up to the whole batch's (in a data-parallel run the last part's backward starts
    /// their all-reduce: `StepContext.backward`). The gradients are then averaged over the ranks, clipped
    /// to `clipNorm` (0: not clipped), applied, and the EMA follows. Returns the numbers averaged over
    /// the micro-batches, with "grad_norm" (the norm before clipping; 0 when not clipped).
    public func step(parts: Int, context: StepContext, clipNorm: Double, rateScale: Double = 1,
                     _ loss: (Int) throws -> (loss: Tensor, numbers: [String: Double])) throws -> [String: Double] {
        optimizer.learningRate = context.learningRate * rateScale
        try optimizer.zeroGrad()
        let k = Double(parts)
        var values: [String: Double] = [:]
        for part in 0..<parts {
            let (total, numbers) = try loss(part)
            try context.backward(total / k, reducing: store.parameters)
            for (key, v) in numbers { values[key, default: 0] += v / k }
        }
        try context.averageGradients(store.parameters)
        values["grad_norm"] = clipNorm > 0 ? try clipGradientNorm(store.parameters, maxNorm: clipNorm) : 0
        try optimizer.update()
        try ema?.update()
        return values
    }
}

/// A recipe whose trained state is one `OptimizedModel`: its checkpoint groups and averaged weights
/// are that model's.
public protocol OptimizedRecipe: Recipe {
    var training: OptimizedModel { get }
}

extension OptimizedRecipe {
    public var checkpointGroups: [String: any CheckpointGroup] { training.checkpointGroups }

    public var average: (ema: ExponentialMovingAverage, store: ParameterStore)? { training.average }

    /// Trains to run.steps and saves the model; with `stoppingAt`, stops after that step's checkpoint
    /// instead and returns nil (a run continued later with resume).
    @discardableResult
    public func train(stoppingAt stop: Int? = nil) throws -> URL? { try harness().train(stoppingAt: stop) }
}
