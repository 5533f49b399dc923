// The training recipe as one Codable config (MAGVIT-v2 §3 and Appendix, REFERENCE.md §3): model,
// data, loss weights, optimizer and schedule, and the run's bookkeeping. Files give overrides of
// `TokenizerTrainingConfig.defaults(preset:)`.
import Dataset
import Foundation
import Harness
import NN
import Tokenizer

/// The loss terms and their weights. The quantizer's entropy and commitment weights are the model's
/// (`model.quantizer`).
public struct LossConfig: Codable, Sendable {
    public enum Reconstruction: String, ConfigChoice { case l1, l2 }
    public enum DiscriminatorLoss: String, ConfigChoice { case hinge, nonSaturating = "non-saturating" }
    public enum PerceptualNetwork: String, ConfigChoice { case vgg, alex }

    public var reconstruction: Reconstruction = .l2
    public var reconstructionWeight: Double = 1
    /// Weight of the LPIPS distance between input and reconstruction (0 disables).
    public var perceptualWeight: Double = 0
    /// The shift-tolerant LPIPS backbone.
    public var perceptualNetwork: PerceptualNetwork = .vgg
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
    /// Weight of the still images' terms (`data.imageBatch`: reconstruction, perceptual, quantizer)
    /// against the clips'. The discriminator judges clips only.
    public var imageWeight: Double = 1

    public init() {}
}

/// How a video tokenizer's causal 3D kernels start.
public enum KernelInitialization: String, ConfigChoice {
    /// Only the current-frame slice drawn (as for a 2D kernel): the model starts as a per-frame image tokenizer.
    case inflated
    /// Every temporal slice drawn.
    case random
}

/// Everything `magvit train` needs.
public struct TokenizerTrainingConfig: RecipeConfig {
    public var model: TokenizerConfig
    public var data = DataConfig()
    public var loss = LossConfig()
    public var optimizer = OptimizerConfig()
    public var run = RunConfig()
    /// How the causal kernels of a fresh video tokenizer start.
    public var initialization: KernelInitialization = .inflated
    /// A tokenizer file (`tokenizer.safetensors`, a shipped model) of the same architecture to start
    /// from instead of random weights (a warm start; the optimizer starts afresh). Empty: random.
    public var initialWeights = ""

    public init(model: TokenizerConfig) { self.model = model }

    /// The defaults for a tokenizer preset; image presets train on Fashion-MNIST, video ones on videos.
    public static func defaults(preset: String) throws -> TokenizerTrainingConfig {
        guard let model = TokenizerConfig.presets[preset] else {
            throw ConfigError("unknown model preset '\(preset)'; presets: \(TokenizerConfig.presets.keys.sorted().joined(separator: ", "))")
        }
        var config = TokenizerTrainingConfig(model: model)
        if model.clipFrames > 1 { config.data.kind = .videos; config.data.flip = true; config.run.batch = 8 }
        return config
    }

    /// The settings that name files or folders, resolved when a config is read from a file.
    public static let pathKeys = ["initialWeights"] + DataConfig.pathKeys
    public static let pathWords = DataConfig.labelWords
    public static let recipe = "tokenizer"
    public static let unhonoured = [
        "data.path": "a token dataset is what the generator and the classifier train on; the tokenizer reads pixels (data.train)",
        "data.labels": "the tokenizer is trained without labels",
        "data.tokenCache": "only the generator keeps an encoding of its training set",
    ]
    public var prefetch: Int { data.prefetch }

    /// `model.preset` (default image-small) picks the defaults; everything else in the file overrides them.
    public static func defaults(taking overrides: inout [String: Any]) throws -> TokenizerTrainingConfig {
        if let given = overrides["model"], !(given is [String: Any]) {
            throw ConfigError("'model' is a section and needs a mapping, got \(given is NSNull ? "nothing" : "\(given)")")
        }
        var model = overrides["model"] as? [String: Any] ?? [:]
        let preset = model.removeValue(forKey: "preset") as? String ?? "image-small"
        overrides["model"] = model
        return try defaults(preset: preset)
    }

    /// Refuses what the run would ignore: data settings that none of its data kinds reads, the
    /// settings of another quantizer kind than the model's, held-out files of the still images.
    public func checkGiven(_ overrides: [String: Any], defaults: TokenizerTrainingConfig) throws {
        try DataSources.checkSettings(given: overrides, data, defaults: defaults.data)
        let given = ConfigFile.value(at: "model.quantizer", in: overrides) as? [String: Any] ?? [:]
        let encoder = JSONEncoder()
        encoder.userInfo[.everySetting] = true  // every registered kind's section, at its defaults
        let standard = try JSONSerialization.jsonObject(with: encoder.encode(defaults.model.quantizer)) as? [String: Any] ?? [:]
        let own = model.quantizer.kind.rawValue
        try ConfigError.refuseUnread(Quantizers.kinds.filter { $0 != own }.flatMap { kind in
            (given[kind] as? [String: Any] ?? [:]).sorted { $0.key < $1.key }.map { key, value in
                (ConfigFile.differs(value, from: (standard[kind] as? [String: Any])?[key]), "model.quantizer.\(kind).\(key)", "by quantizer kind \(kind), not this model's \(own)")
            }
        } + data.images.indices.map { i in
            (!data.images[i].eval.isEmpty, "data.images[\(i)].eval", "for held-out clips; still images are drawn from the training files only")
        })
    }

    /// Checks the settings against each other.
    public func validate() throws {
        do { try model.validate() } catch { throw ConfigError("\(error)") }
        let require = ConfigError.require
        try run.validate()
        try optimizer.validate()
        try require(!data.frameStrides.isEmpty && data.frameStrides.allSatisfy { $0 >= 1 }, "data.frameStrides must be positive")
        try require(data.cropScale.count == 2 && data.cropScale[0] >= 1 && data.cropScale[1] >= data.cropScale[0] && data.cropScale[1] <= 64,
                    "data.cropScale must be [low, high] with 1 <= low <= high <= 64")
        try require(data.prefetch >= 1 && data.evalSamples >= 1, "data.prefetch and data.evalSamples must be positive")
        try DataSources.requireKnown(data.kind)
        try require(!DataSources.holdsImages(data.kind) || model.clipFrames == 1,
                    "\(data.kind) holds images; the model must take 1-frame clips, not \(model.clipFrames)")
        try require(model.imageChannels == 1 || model.imageChannels == 3, "model.imageChannels must be 1 or 3")
        try require(data.imageBatch >= 0, "data.imageBatch must not be negative")
        if data.imageBatch > 0 {
            try require(model.clipFrames > 1, "data.imageBatch adds still images to clips; this model takes 1-frame clips already (give images as data.kind)")
            try require(!data.images.isEmpty, "data.imageBatch \(data.imageBatch) needs data.images: a list of {kind, train, weight}")
            try require(data.imageBatch % run.accumulate == 0, "data.imageBatch \(data.imageBatch) must split into run.accumulate \(run.accumulate) micro-batches")
            try require(loss.imageWeight > 0 && loss.imageWeight.isFinite, "loss.imageWeight must be positive")
        }
    }
}
