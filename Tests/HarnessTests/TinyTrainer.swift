// A test-only trainer written against the Harness alone: linear regression onto a fixed random
// target map, with batches from (seed, step), AdamW, EMA and a sample image. Everything a trainer
// needs is in this one file.
import Foundation
import Harness
import NN
import Torch

final class TinyTrainer: Trainer {
    let store = ParameterStore()
    let layer: Linear
    let optimizer: AdamW
    let ema: ExponentialMovingAverage
    let target: Tensor  // (8, 4): y = x · targetᵀ
    let seed: UInt64
    let batchSize: Int
    /// Steps seen, a counter kept in the checkpoint's extra state.
    var seen = 0
    /// Microseconds to sleep per step (slows a child process down enough to be killed mid-run).
    var delay: UInt32 = 0
    /// CPU seconds each step computes (busy), where `delay` waits.
    var spin: Double = 0
    /// Microseconds the final evaluation takes (the end-of-run time line must count it).
    var finalDelay: UInt32 = 0
    /// Variations a resume must refuse: no EMA group, another model name.
    var dropEMA = false
    var modelName = "tiny-8x4"

    init(run: RunConfig) throws {
        Torch.manualSeed(run.seed)
        layer = try Linear(store.root("layer"), inputFeatures: 8, outputFeatures: 4, bias: false)
        optimizer = AdamW(store.parameters, learningRate: 0.05, betas: (0.9, 0.99), weightDecay: 0)
        ema = try ExponentialMovingAverage(store.parameters, decay: 0.9)
        target = try Tensor.randn([4, 8])
        seed = run.seed
        batchSize = run.batch
    }

    var summary: String { "tiny linear regression" }
    var headline: [String] { ["mse"] }
    var checkpointGroups: [String: any CheckpointGroup] {
        dropEMA ? ["model": store, "optimizer": optimizer] : ["model": store, "optimizer": optimizer, "ema": ema]
    }
    var average: (ema: ExponentialMovingAverage, store: ParameterStore)? { (ema, store) }
    var identity: [String: String] { ["model": modelName] }
    func extraState() throws -> [String: String] { ["seen": "\(seen)"] }
    func restore(extraState: [String: String]) throws { seen = Int(extraState["seen"] ?? "") ?? -1 }

    func batchMaker() throws -> @Sendable (Int) throws -> Tensor {
        let seed = self.seed, size = batchSize
        return { step in
            var random = SeededRandom(seed: seed, step: step)
            return try Tensor((0..<(size * 8)).map { _ in Float(random.uniform() * 2 - 1) }, shape: [size, 8])
        }
    }

    func step(_ x: Tensor, context: StepContext) throws -> [String: Double] {
        optimizer.learningRate = context.learningRate
        try optimizer.zeroGrad()
        let noise = try Tensor.randn([x.size(0), 4]) * 0.01  // torch randomness: seeded per step by the harness
        let loss = try mseLoss(layer(x), matmul(x, target.transpose(0, 1)) + noise)
        try loss.backward()
        try optimizer.update()
        try ema.update()
        seen += 1
        if delay > 0 { usleep(delay) }
        let spun = ProcessClock.cpuSeconds() + spin
        while spin > 0, ProcessClock.cpuSeconds() < spun {}
        return ["loss": try loss.item(), "mse": try loss.item(), "seen": Double(seen)]
    }

    func evaluate(step: Int, final: Bool, log: RunLog) throws -> [String: Any] {
        if final, finalDelay > 0 { usleep(finalDelay) }
        let x = try Tensor.ones([1, 8])
        return ["held_out_error": try (layer(x) - matmul(x, target.transpose(0, 1))).square().mean().item()]
    }

    func samples(step: Int) throws -> [String: Tensor] {
        ["weights": try (layer.weight.detach().unsqueeze(2).expand([4, 8, 3]).tanh() + 1) / 2]
    }

    func finish(_ folder: RunFolder, metadata: [String: String], dtype: DType) throws -> URL {
        let url = folder.url.appendingPathComponent("tiny.safetensors")
        try store.save(to: url, metadata: metadata)
        return url
    }
}
