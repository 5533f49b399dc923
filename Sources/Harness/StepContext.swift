// What a trainer step is given besides its batch: the step, its learning rate, the device, the
// data-parallel group and the micro-batches of gradient accumulation.
import Torch

/// What a step is given besides its batch.
public struct StepContext {
    public let step: Int
    public let learningRate: Double
    public let device: Device
    let mixedPrecision: Bool
    /// The data-parallel group, when the run has more than one process.
    public let parallel: DataParallel?
    /// Micro-batches per optimizer step (`run.accumulate`).
    public let accumulate: Int

    /// A step's context outside the harness's loop (benchmarks, tests): one process unless `parallel`.
    public init(step: Int, learningRate: Double, device: Device, mixedPrecision: Bool, parallel: DataParallel? = nil, accumulate: Int = 1) {
        (self.step, self.learningRate, self.device, self.mixedPrecision, self.parallel, self.accumulate) = (step, learningRate, device, mixedPrecision, parallel, accumulate)
    }

    /// A batch (B, ...) as `accumulate` micro-batches along its first dimension, whose gradients the
    /// trainer adds up (each loss divided by their count) before one update.
    public func microBatches(_ batch: Tensor) throws -> [Tensor] {
        guard accumulate > 1 else { return [batch] }
        let n = batch.size(0) / accumulate
        return try (0..<accumulate).map { try batch.narrow(0, start: $0 * n, length: n) }
    }

    /// `loss.backward()` for one of the step's micro-batches whose gradients reach `parameters`; in a
    /// data-parallel run the last micro-batch's backward starts their all-reduce bucket by bucket as
    /// backward produces them, and `averageGradients(parameters)` waits for it.
    public func backward(_ loss: Tensor, reducing parameters: [(name: String, tensor: Tensor)]) throws {
        guard let parallel else { return try loss.backward() }
        try parallel.backward(loss, reducing: parameters, microBatches: accumulate)
    }

    /// Averages the gradients of `parameters` over the ranks (nothing in a one-process run); call
    /// after `backward` and before the optimizer's update.
    public func averageGradients(_ parameters: [(name: String, tensor: Tensor)]) throws {
        try parallel?.averageGradients(parameters)
    }

    /// Runs `body` under bf16 autocast on CUDA when `run.mixedPrecision` is on; as is otherwise.
    public func autocast<R>(_ body: () throws -> R) throws -> R {
        if case .cuda = device, mixedPrecision { return try withAutocast(device: device, dtype: .bfloat16, body) }
        return try body()
    }
}
