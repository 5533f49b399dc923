// A model's parameters with their AdamW optimizer and, when run.emaDecay > 0, their exponential
// moving average: the state every trainer checkpoints and the averaged weights it evaluates with.
import NN

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
}
