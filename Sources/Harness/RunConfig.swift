// The settings every trainer shares: steps, batches and bookkeeping (`run`) and AdamW with warmup
// and cosine decay (`optimizer`). Trainer-specific sections live with each trainer's config.
import Foundation
import NN
import Torch

extension ConfigChoice {
    /// Parses a word given outside a config file (a command-line option).
    public init(parsing text: String, setting: String) throws {
        guard let value = Self(rawValue: text) else {
            throw ConfigError("\(setting) must be one of \(Self.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
        }
        self = value
    }
}

/// The stored dtype of a trained model.
public enum SaveDType: String, ConfigChoice {
    case float32, float16, bfloat16

    public var dtype: DType {
        switch self {
        case .float32: .float32
        case .float16: .float16
        case .bfloat16: .bfloat16
        }
    }
}

/// The dtype of the weights and the math of training.
public enum ComputeDType: String, ConfigChoice {
    /// The default; bf16 autocast on CUDA with `run.mixedPrecision`.
    case float32
    /// For checking numerics (data-parallel equivalence, gradients): weights, batches and losses in float64.
    case float64

    public var dtype: DType { self == .float32 ? .float32 : .float64 }
}

/// What reduces a data-parallel run's CUDA tensors (`run.backend`), by torch.distributed's names;
/// CPU tensors always go through Gloo.
public enum CollectiveBackend: String, ConfigChoice {
    /// NCCL when training on CUDA and this build has it (libmagvit_nccl.so), else Gloo.
    case auto
    /// Gloo: CUDA tensors are staged through host memory.
    case gloo
    /// NCCL, GPU to GPU; an error where there is no GPU or this build has no NCCL.
    case nccl

    /// The process group backend of a run on `device`.
    public func resolved(for device: Device) -> ProcessGroup.Backend {
        switch self {
        case .gloo: .gloo
        case .nccl: .nccl
        case .auto: if case .cuda = device, ProcessGroup.ncclUnavailable == nil { .nccl } else { .gloo }
        }
    }
}

/// What `run.timeBudget` counts.
public enum BudgetClock: String, ConfigChoice {
    /// Wall-clock seconds of the run, its evaluations included.
    case wall
    /// CPU seconds of the process in training steps, every thread (the log's `cpu_seconds`): the same
    /// work whatever else the machine runs, so runs sharing its cores still get equal compute.
    case cpu

    /// The budget's unit in messages.
    public var unit: String { self == .cpu ? "CPU-s" : "s" }
}

/// A device written as "cpu", "cuda" or "cuda:N".
public struct DeviceSetting: Codable, Sendable, Equatable, CustomStringConvertible {
    public var device: Device

    public init(_ device: Device) { self.device = device }

    public init(parsing text: String) throws {
        do { device = try Device(parsing: text) } catch { throw ConfigError("\(error.message)") }
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let device = try? Device(parsing: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected cpu, cuda or cuda:N, got '\(text)'"))
        }
        self.device = device
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(device.description)
    }

    public var description: String { device.description }

    /// Fails with one line when the device is a GPU this libtorch or machine does not have.
    public func checkAvailable() throws {
        do { try device.checkAvailable() } catch { throw ConfigError(error.message) }
    }
}

/// AdamW with linear warmup and cosine decay, and gradient clipping.
public struct OptimizerConfig: Codable, Sendable {
    public var learningRate: Double = 1e-3
    /// The discriminator's rate; 0 uses `learningRate` (tokenizer GAN training only).
    public var discriminatorLearningRate: Double = 0
    public var betas: [Double] = [0.9, 0.99]
    public var weightDecay: Double = 1e-4
    public var warmupSteps: Int = 100
    /// The cosine ends at learningRate × this.
    public var finalRatio: Double = 0.05
    /// Global gradient-norm clipping (0 disables).
    public var clipNorm: Double = 1

    public init() {}

    public func validate() throws {
        guard learningRate > 0, betas.count == 2, betas.allSatisfy({ (0..<1).contains($0) }) else {
            throw ConfigError("optimizer.learningRate must be positive and optimizer.betas two numbers in [0, 1), got \(betas)")
        }
        guard warmupSteps >= 0, finalRatio >= 0, clipNorm >= 0, weightDecay >= 0, discriminatorLearningRate >= 0 else {
            throw ConfigError("optimizer.warmupSteps, finalRatio, clipNorm, weightDecay and discriminatorLearningRate must not be negative")
        }
    }
}

/// Steps, batches and bookkeeping of a run.
public struct RunConfig: Codable, Sendable {
    public var steps: Int = 1000
    /// The global batch of a step: over all ranks and micro-batches.
    public var batch: Int = 32
    /// Micro-batches per step whose gradients add up before the update (gradient accumulation).
    public var accumulate: Int = 1
    public var seed: UInt64 = 0
    public var logEvery: Int = 50
    public var evalEvery: Int = 500
    public var checkpointEvery: Int = 500
    /// EMA decay of the weights used for evaluation and the final model (0 disables).
    public var emaDecay: Double = 0.999
    public var device = DeviceSetting(.cpu)
    /// Intra-op threads (0 keeps libtorch's choice).
    public var threads: Int = 0
    /// bf16 autocast on CUDA (ignored on the CPU).
    public var mixedPrecision: Bool = true
    /// Stop after this many seconds of training (0: no limit); the schedule is fitted to the steps
    /// that fit, timed over steps 30 to 80 of a session.
    public var timeBudget: Double = 0
    /// What run.timeBudget counts: `wall` (seconds, evaluations included) or `cpu` (CPU seconds in steps).
    public var budgetClock: BudgetClock = .wall
    /// Stored dtype of the final model.
    public var saveDtype: SaveDType = .float32
    /// Dtype of the weights and the math while training.
    public var dtype: ComputeDType = .float32
    /// Seconds between plain progress lines when standard error is not a terminal (0: none).
    public var progressEvery: Double = 30
    /// Data-parallel runs: seconds a rank waits for the others (rendezvous, collectives, rank 0's
    /// evaluations) before stopping with an error.
    public var collectiveTimeout: Double = 600
    /// Data-parallel runs: what reduces CUDA tensors (auto: NCCL on CUDA where available, else Gloo).
    public var backend: CollectiveBackend = .auto

    public init() {}

    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw ConfigError(message) } }
        try require(steps > 0 && batch > 0, "run.steps and run.batch must be positive")
        try require(batch <= 1 << 24 && steps <= 1 << 40, "run.batch must be at most 16777216 and run.steps at most 2^40")
        try require(logEvery > 0 && evalEvery > 0 && checkpointEvery > 0, "run.logEvery, run.evalEvery and run.checkpointEvery must be positive")
        try require((0..<1).contains(emaDecay), "run.emaDecay must be in [0, 1)")
        try require(threads >= 0 && timeBudget >= 0 && progressEvery >= 0, "run.threads, run.timeBudget and run.progressEvery must not be negative")
        try require(budgetClock == .wall || timeBudget > 0, "run.budgetClock \(budgetClock.rawValue) says what run.timeBudget counts, and there is no budget (0): set run.timeBudget too")
        try require(collectiveTimeout > 0 && collectiveTimeout <= 1e6, "run.collectiveTimeout must be in (0, 1e6] seconds")
        let cores = ProcessInfo.processInfo.activeProcessorCount
        try require(threads <= 4 * cores, "run.threads \(threads) is more than 4 × this machine's \(cores) cores")
        try require(accumulate >= 1 && batch % accumulate == 0, "run.accumulate must be at least 1 and divide run.batch")
    }
}
