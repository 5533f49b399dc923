// `magvit train-generator CONFIG`: the tokenizer whose tokens are modelled, the image set, the
// transformer, and the optimizer/run sections shared with tokenizer training.
import Dataset
import Foundation
import GeneratorModel
import Harness
import Tokenizer
import Torch

public struct SamplingConfig: Codable, Sendable {
    /// Decoding steps of the sample grids written at evaluations.
    public var steps = 12
    public var guidance = 0.0
    public var temperature = 1.0

    public init() {}
}

public struct GeneratorTrainingConfig: RecipeConfig {
    /// The trained tokenizer checkpoint (its vocabulary and latent grid fix the generator's).
    public var tokenizer = ""
    public var data = DataConfig()
    public var generator = GeneratorConfig()
    public var optimizer = OptimizerConfig()
    public var run = RunConfig()
    public var sampling = SamplingConfig()
    /// Sources that draw clips at random (moving digits): how many are made and encoded once for
    /// training; held-out clips scored at evaluations.
    public var movingDigitClips = 20000
    /// Held-out clips a video generator is scored on: frame prediction's, or as many generated clips
    /// as real ones for an unconditional video generator's FVD.
    public var predictionClips = 64
    /// Score video by FVD (I3D on the whole clips, against the real ones; needs the I3D weights that
    /// scripts/setup.sh converts): frame prediction's predicted clips, or an unconditional video
    /// generator's samples.
    public var predictionFVD = false
    /// Masks shaped by the codec's coding schedule for this fraction of the examples (codec priors,
    /// docs/codec.md).
    public var codingMasks = CodingMasks()
    /// A generator file whose weights start the run (a warm start; a resumed run continues from its checkpoint).
    public var initialWeights = ""

    public init() {
        optimizer.learningRate = 1e-3
        optimizer.betas = [0.9, 0.96]
        optimizer.weightDecay = 0.045
        run.emaDecay = 0
    }

    public static let recipe = "generator"
    /// The settings that name files or folders, resolved when a config is read from a file.
    public static let pathKeys = ["tokenizer", "initialWeights"] + DataConfig.pathKeys
    public static let pathWords = DataConfig.labelWords
    public static let unhonoured = [
        "data.imageBatch": "still images beside clips are a tokenizer setting; the generator models one kind of example (data.kind)",
        "data.images": "still images beside clips are a tokenizer setting; the generator models one kind of example (data.kind)",
        "data.evalWholeSet": "the generator scores data.evalSamples held-out examples (predictionClips for frame prediction)",
        "data.flip": "the generator encodes each training example once, as it is (no random flips, strides or crops)",
        "data.frameStrides": "the generator encodes each training example once, as it is (no random flips, strides or crops)",
        "data.cropScale": "the generator encodes each training example once, as it is (no random flips, strides or crops)",
        "run.dtype": "the generator trains in float32 (bf16 autocast on CUDA with run.mixedPrecision)",
        "optimizer.discriminatorLearningRate": "the generator has no discriminator",
    ]
    public var prefetch: Int { data.prefetch }

    public static func defaults(taking overrides: inout [String: Any]) throws -> GeneratorTrainingConfig { GeneratorTrainingConfig() }

    /// generator.vocabularyBits and generator.grid come from the tokenizer when the file leaves them
    /// out (they must match it), generator.classes from the data's labels.
    public func checkGiven(_ overrides: [String: Any], defaults: GeneratorTrainingConfig) throws {
        try DataSources.checkSettings(given: overrides, data, defaults: defaults.data, recipeKinds: TokenSources.settings)
    }

    public mutating func derive(given overrides: [String: Any]) throws {
        guard !tokenizer.isEmpty else { throw ConfigError("tokenizer must name a trained tokenizer checkpoint") }
        let given = overrides["generator"] as? [String: Any] ?? [:]
        let tokenizer = try TokenizerConfigFile.read(self.tokenizer)
        let bits = tokenizer.quantizer.bits
        if given["vocabularyBits"] == nil { generator.vocabularyBits = bits }
        if given["factorBits"] == nil { generator.factorBits = tokenizer.quantizer.tokenFactors }
        let latent = tokenizer.latentGrid
        if given["grid"] == nil { generator.grid = latent }
        if given["latentChannels"] == nil, generator.objective == .diffusion { generator.latentChannels = tokenizer.quantizer.latentChannels }
        let tokenObjectives = "by the token objectives (masked, autoregressive); diffusion models the tokenizer's continuous latents"
        try ConfigError.refuseUnread([
            (generator.objective == .diffusion && generator.factorBits != tokenizer.quantizer.tokenFactors, "generator.factorBits", tokenObjectives),
            (generator.objective == .diffusion && generator.labelSmoothing != GeneratorConfig().labelSmoothing, "generator.labelSmoothing", tokenObjectives),
        ])
        // Labels make a token set's model class-conditional, unless it predicts frames: a frame
        // predictor is unconditional, whatever labels the data carries.
        if given["classes"] == nil, TokenSources.holds(data.kind), generator.conditionFrames == 0 {
            generator.classes = try TokenSources.classNames(data).count
        }
        // Tiles of whole frames may be any size; everything else is one clip of the tokenizer's.
        let gridFits = data.kind == .tokenTiles ? generator.grid.first == latent[0] : generator.grid == latent
        guard generator.vocabularyBits == bits, gridFits else {
            throw ConfigError("generator.vocabularyBits \(generator.vocabularyBits) and generator.grid \(generator.grid) must match the tokenizer's \(bits) bits and latent grid \(latent)\(data.kind == .tokenTiles ? " (token tiles: its \(latent[0]) latent frames)" : "")")
        }
        do { try generator.validate() } catch let error as GeneratorError { throw ConfigError("generator: \(error)") }
    }

    public func validate() throws {
        let require = ConfigError.require
        try run.validate()
        try optimizer.validate()
        try require(sampling.steps >= 1 && sampling.temperature > 0, "sampling.steps must be at least 1 and sampling.temperature positive")
        try require(readsTokens || DataSources.kinds.contains(data.kind),
                    "data.kind '\(data.kind)' is none of the generator's: token sources \(TokenSources.kinds.map(\.rawValue).joined(separator: ", ")), "
                    + "\(DataKind.tokenTiles), or clip sources \(DataSources.kinds.map(\.rawValue).joined(separator: ", "))")
        try require(generator.classes == 0 || data.kind != .movingDigits, "generator.classes must be 0 for moving digits (they have no labels)")
        try require(movingDigitClips >= 1 && predictionClips >= 3, "movingDigitClips must be positive and predictionClips at least 3")
        try require((0...1).contains(codingMasks.fraction) && CodingSchedule.allowedGroups.contains(codingMasks.groups),
                    "codingMasks.fraction must be in [0, 1] and codingMasks.groups one of \(CodingSchedule.allowedGroups)")
        try require(codingMasks.fraction == 0 || generator.conditionFrames == 0, "codingMasks.fraction needs generator.conditionFrames 0 (coding masks train the codec's prior of whole clips)")
        try require(codingMasks.fraction == 0 || generator.objective == .masked, "codingMasks.fraction is for generator.objective masked")
        try require(generator.objective != .diffusion || sampling.temperature == 1, "sampling.temperature is for token models; leave it out with generator.objective diffusion")
        try require(generator.objective != .diffusion || !readsTokens,
                    "generator.objective diffusion learns the tokenizer's continuous latents, which a token dataset (\(data.kind)) does not keep: use a pixel source such as fashion-mnist")
        try require(generator.conditionFrames == 0 || !DataSources.holdsImages(data.kind),
                    "frame prediction (generator.conditionFrames) needs clips: a clip source such as data.kind moving-digits")
        try refuseUnread()
        try require(generator.conditionFrames == 0 || generator.classes == 0,
                    "frame prediction (generator.conditionFrames \(generator.conditionFrames)) needs an unconditional generator, but generator.classes is \(generator.classes): set generator.classes: 0 (the data's labels are then not used), or generator.conditionFrames: 0 for a class-conditional model")
    }
}

extension GeneratorTrainingConfig {
    /// Refuses settings that differ from their defaults where this run would not read them: what
    /// scores frame prediction without it, the size of a random source's training set for a source
    /// of indexed examples, guidance and condition dropout without classes, coding-mask groups
    /// without coding masks.
    func refuseUnread() throws {
        let standard = GeneratorTrainingConfig(), framePrediction = generator.conditionFrames > 0
        let randomSource = !(readsTokens || DataSources.indexes(data.kind))
        let scoring = "for frame prediction (generator.conditionFrames above 0) or an unconditional video generator's FVD (predictionFVD)"
        try ConfigError.refuseUnread([
            (predictionClips != standard.predictionClips && !scoresClips, "predictionClips", scoring),
            (predictionFVD && !(framePrediction || unconditionalVideo), "predictionFVD",
             "for frame prediction (generator.conditionFrames above 0) or an unconditional generator of a video tokenizer's clips"),
            (!data.eval.isEmpty && !scoresClips, "data.eval", scoring + ", which score its held-out clips"),
            (data.evalSamples != standard.data.evalSamples && !(scoresClips && randomSource), "data.evalSamples",
             scoring + " on a source that draws its held-out clips (moving-digits, photo-pans)"),
            (movingDigitClips != standard.movingDigitClips && !randomSource, "movingDigitClips",
             "for sources that draw clips at random (moving-digits, photo-pans, mixture); \(data.kind) has a set of its own"),
            (sampling.guidance != standard.sampling.guidance && generator.classes == 0, "sampling.guidance",
             "for a class-conditional generator (generator.classes above 0)"),
            (generator.conditionDropout != standard.generator.conditionDropout && generator.classes == 0, "generator.conditionDropout",
             "for a class-conditional generator (generator.classes above 0)"),
            (codingMasks.groups != standard.codingMasks.groups && codingMasks.fraction == 0, "codingMasks.groups",
             "for coding masks (codingMasks.fraction above 0)"),
        ])
    }

    /// An unconditional generator of a video tokenizer's clips (more than one latent frame, none given).
    public var unconditionalVideo: Bool { generator.generatesUnconditionalVideo }

    /// Whether evaluations score held-out clips: frame prediction, or an unconditional video generator
    /// with `predictionFVD`.
    public var scoresClips: Bool { generator.conditionFrames > 0 || (unconditionalVideo && predictionFVD) }

    /// Whether the run trains on tokens already made (a token source, or token files' tiles), not on
    /// pixels it encodes itself.
    var readsTokens: Bool { TokenSources.holds(data.kind) || data.kind == .tokenTiles }
}

/// The config stored in a tokenizer checkpoint, read without loading its weights.
enum TokenizerConfigFile {
    static func read(_ path: String) throws -> TokenizerConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            if path.hasSuffix(ShippedResources.defaultTokenizerPath) || path == ShippedResources.defaultTokenizer.path {
                throw ConfigError("tokenizer \(path): no such file, and the shipped tokenizer is not at \(ShippedResources.defaultTokenizer.path) either (restore models/ from git, or set MAGVIT_MODEL to its path)")
            }
            throw ConfigError("tokenizer \(path): no such file (\(ShippedResources.lookupRule); train a tokenizer with `magvit train`, e.g. configs/fashion-mnist.yaml, or name the shipped one, \(ShippedResources.defaultTokenizerPath))")
        }
        return try VideoTokenizer.load(from: URL(fileURLWithPath: path)).config
    }
}
