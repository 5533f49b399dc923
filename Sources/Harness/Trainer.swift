// What the Harness needs of a model it trains: its state, batches, step, evaluations, samples and
// final save.
import Foundation
import NN
import Torch

/// A model trained by the harness.
public protocol Trainer: AnyObject {
    associatedtype Batch
    /// One line on what is trained (model size, data), said when the loop starts.
    var summary: String { get }
    /// Keys of `step`'s numbers worth showing in the log lines, besides the loss.
    var headline: [String] { get }
    /// The state a checkpoint holds, by group name ("model", "optimizer", "ema", ...).
    var checkpointGroups: [String: any CheckpointGroup] { get }
    /// The data-parallel group the trainer was built with (nil: one process). Rank 0 writes the
    /// run folder; `batchMaker` gives each rank its slice of the global batch.
    var parallel: DataParallel? { get }
    /// Weights averaged for evaluation and the final model, and the store they are swapped into.
    var average: (ema: ExponentialMovingAverage, store: ParameterStore)? { get }
    /// Settings a resumed run must share with the checkpoint (model config, seed), by name; a
    /// setting that cannot be written is an error, never an empty value that would match anything.
    var identity: [String: String] { get throws }
    /// Small state beyond tensors (running means), saved in the checkpoint as text.
    func extraState() throws -> [String: String]
    func restore(extraState: [String: String]) throws
    /// Work that needs the run folder before the first step (caches beside the run).
    func prepare(_ folder: RunFolder, log: RunLog) throws
    /// Makes the batch of a step on the producer thread: a pure function of the seed and the step.
    func batchMaker() throws -> @Sendable (Int) throws -> Batch
    /// One optimisation step; the numbers to log (averaged over each log window).
    func step(_ batch: Batch, context: StepContext) throws -> [String: Double]
    /// Held-out scores (averaged weights in place); `final` at the end of the run.
    func evaluate(step: Int, final: Bool, log: RunLog) throws -> [String: Any]
    /// Sample images (H, W, 3) in [0, 1] by name (averaged weights in place).
    func samples(step: Int) throws -> [String: Tensor]
    /// Saves the final model (averaged weights in place) with `metadata`; returns where.
    func finish(_ folder: RunFolder, metadata: [String: String], dtype: DType) throws -> URL
}

extension Trainer {
    public var parallel: DataParallel? { nil }
    public func extraState() throws -> [String: String] { [:] }
    public func restore(extraState: [String: String]) throws {}
    public func prepare(_ folder: RunFolder, log: RunLog) throws {}
}
