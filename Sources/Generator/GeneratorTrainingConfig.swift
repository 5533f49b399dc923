// `magvit train-generator CONFIG`: the tokenizer whose tokens are modelled, the image set, the
// transformer, and the optimizer/run sections shared with tokenizer training.
import Foundation
import Harness
import Tokenizer
import Torch
import Training

public struct SamplingConfig: Codable, Sendable {
    /// Decoding steps of the sample grids written at evaluations.
    public var steps = 12
    public var guidance = 0.0
    public var temperature = 1.0

    public init() {}
}

public struct GeneratorTrainingConfig: Codable, Sendable {
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
    public var predictionClips = 64
    /// Also score frame prediction by FVD (I3D on the whole clips, against the real ones; needs the
    /// I3D weights that scripts/setup.sh converts).
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

    /// Reads a config file over the defaults; `assignments` (key.path=value) override the file.
    /// generator.vocabularyBits and generator.grid come from the tokenizer when the file leaves them out.
    /// Relative paths in the file are relative to its folder (`ShippedResources.resolve`).
    public static func load(_ url: URL, assignments: [String] = []) throws -> GeneratorTrainingConfig {
        try parse(ConfigFile.text(of: url), name: url.lastPathComponent, assignments: assignments, folder: url.deletingLastPathComponent())
    }

    /// The settings that name files or folders, resolved when a config is read from a file.
    public static let pathKeys = ["tokenizer", "initialWeights"] + DataConfig.pathKeys

    /// `folder`: the config file's, against which its relative paths (tokenizer, data) are resolved
    /// (nil: kept as given, relative to the working directory).
    public static func parse(_ text: String, name: String = "config.yaml", assignments: [String] = [], folder: URL? = nil) throws -> GeneratorTrainingConfig {
        let overrides = try ConfigFile.overrides(text, name: name, assignments: assignments, folder: folder,
                                                 pathKeys: pathKeys, keeping: DataConfig.labelWords)
        var config: GeneratorTrainingConfig
        do { config = try ConfigFile.decode(GeneratorTrainingConfig.self, overrides: overrides, defaults: GeneratorTrainingConfig()) } catch let e as ConfigError {
            throw ConfigError("\(name): \(e.message)")
        }
        guard !config.tokenizer.isEmpty else { throw ConfigError("\(name): tokenizer must name a trained tokenizer checkpoint") }
        let given = overrides["generator"] as? [String: Any] ?? [:]
        let tokenizer = try TokenizerConfigFile.read(config.tokenizer)
        let bits = tokenizer.quantizer.bits
        if given["vocabularyBits"] == nil { config.generator.vocabularyBits = bits }
        if given["factorBits"] == nil { config.generator.factorBits = bits <= 12 ? [bits] : [bits / 2, bits - bits / 2] }
        let g = tokenizer.tokenGrid(frames: tokenizer.clipFrames, height: tokenizer.resolution, width: tokenizer.resolution)
        let latent = [g.t, g.h, g.w]
        if given["grid"] == nil { config.generator.grid = latent }
        if given["latentChannels"] == nil, config.generator.objective == .diffusion { config.generator.latentChannels = tokenizer.quantizer.latentChannels }
        // Labels make a token set's model class-conditional, unless it predicts frames: a frame
        // predictor is unconditional, whatever labels the data carries.
        if given["classes"] == nil, TokenData.applies(config.data.kind), config.generator.conditionFrames == 0 {
            config.generator.classes = try TokenData.classes(config.data)
        }
        // Tiles of whole frames may be any size; everything else is one clip of the tokenizer's.
        let gridFits = config.data.kind == .tokenTiles ? config.generator.grid.first == latent[0] : config.generator.grid == latent
        guard config.generator.vocabularyBits == bits, gridFits else {
            throw ConfigError("\(name): generator.vocabularyBits \(config.generator.vocabularyBits) and grid \(config.generator.grid) must match the tokenizer's \(bits) bits and latent grid \(latent)\(config.data.kind == .tokenTiles ? " (token tiles: its \(latent[0]) latent frames)" : "")")
        }
        do { try config.generator.validate() } catch { throw ConfigError("\(name): generator: \(error)") }
        try config.validate()
        return config
    }

    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw ConfigError(message) } }
        try run.validate()
        try optimizer.validate()
        try require(sampling.steps >= 1 && sampling.temperature > 0, "sampling.steps must be at least 1 and sampling.temperature positive")
        if !TokenData.applies(data.kind), data.kind != .tokenTiles { try DataSources.requireKnown(data.kind) }
        try require(generator.classes == 0 || data.kind != .movingDigits, "generator.classes must be 0 for moving digits (they have no labels)")
        try require(movingDigitClips >= 1 && predictionClips >= 3, "movingDigitClips must be positive and predictionClips at least 3")
        try require((0...1).contains(codingMasks.fraction) && CodingSchedule.allowedGroups.contains(codingMasks.groups),
                    "codingMasks.fraction must be in [0, 1] and codingMasks.groups one of \(CodingSchedule.allowedGroups)")
        try require(codingMasks.fraction == 0 || generator.conditionFrames == 0, "codingMasks need generator.conditionFrames 0")
        try require(codingMasks.fraction == 0 || generator.objective == .masked, "codingMasks are for generator.objective masked")
        try require(generator.objective != .diffusion || sampling.temperature == 1, "sampling.temperature is for token models; leave it out with generator.objective diffusion")
        try require(generator.objective != .diffusion || !(TokenData.applies(data.kind) || data.kind == .tokenTiles),
                    "generator.objective diffusion learns the tokenizer's continuous latents, which a token dataset (\(data.kind)) does not keep: use a pixel source such as fashion-mnist")
        try require(generator.conditionFrames == 0 || !DataSources.holdsImages(data.kind),
                    "frame prediction (generator.conditionFrames) needs clips: a clip source such as data.kind moving-digits")
        try require(generator.conditionFrames == 0 || generator.classes == 0,
                    "frame prediction (generator.conditionFrames \(generator.conditionFrames)) needs an unconditional generator, but generator.classes is \(generator.classes): set generator.classes: 0 (the data's labels are then not used), or generator.conditionFrames: 0 for a class-conditional model")
    }

    public func json() throws -> String { try ConfigFile.json(self, pretty: true) }
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
