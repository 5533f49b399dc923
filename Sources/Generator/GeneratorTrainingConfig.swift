// `magvit train-generator CONFIG`: the tokenizer whose tokens are modelled, the image set, the
// transformer, and the optimizer/run sections shared with tokenizer training.
import Foundation
import Tokenizer
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
    /// moving-digits: clips made and encoded once for training, and held-out clips scored at evaluations.
    public var movingDigitClips = 20000
    public var predictionClips = 64
    /// Also score frame prediction by FVD (I3D on the whole clips, against the real ones; needs the
    /// I3D weights that scripts/setup.sh converts).
    public var predictionFVD = false

    public init() {
        optimizer.learningRate = 1e-3
        optimizer.betas = [0.9, 0.96]
        optimizer.weightDecay = 0.045
        run.emaDecay = 0
    }

    /// Reads a config file over the defaults; `assignments` (key.path=value) override the file.
    /// generator.vocabularyBits and generator.grid come from the tokenizer when the file leaves them out.
    public static func load(_ url: URL, assignments: [String] = []) throws -> GeneratorTrainingConfig {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigError("\(url.path): cannot read the config file (\(error.localizedDescription))")
        }
        return try parse(text, name: url.lastPathComponent, assignments: assignments)
    }

    /// Paths (tokenizer, data) are relative to the working directory, as in tokenizer configs.
    public static func parse(_ text: String, name: String = "config.yaml", assignments: [String] = []) throws -> GeneratorTrainingConfig {
        let overrides = ConfigFile.combine(try ConfigFile.parse(text, name: name), try ConfigFile.assignments(assignments))
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
        guard config.generator.vocabularyBits == bits, config.generator.grid == latent else {
            throw ConfigError("\(name): generator.vocabularyBits \(config.generator.vocabularyBits) and grid \(config.generator.grid) must match the tokenizer's \(bits) bits and latent grid \(latent)")
        }
        do { try config.generator.validate() } catch { throw ConfigError("\(name): generator: \(error)") }
        try config.validate()
        return config
    }

    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw ConfigError(message) } }
        try require(run.steps > 0 && run.batch > 0, "run.steps and run.batch must be positive")
        try require(run.logEvery > 0 && run.evalEvery > 0 && run.checkpointEvery > 0, "run.logEvery, run.evalEvery and run.checkpointEvery must be positive")
        try require(optimizer.learningRate > 0 && optimizer.betas.count == 2, "optimizer.learningRate must be positive and optimizer.betas two numbers")
        try require((0..<1).contains(run.emaDecay), "run.emaDecay must be in [0, 1)")
        try require(sampling.steps >= 1 && sampling.temperature > 0, "sampling.steps must be at least 1 and sampling.temperature positive")
        try require([.fashionMNIST, .mnist, .movingDigits].contains(data.kind),
                    "data.kind must be fashion-mnist or mnist (labelled image sets) or moving-digits (clips), got \(data.kind.rawValue)")
        try require(generator.classes == 0 || (generator.classes == 10 && data.kind != .movingDigits),
                    "generator.classes must be 0, or the 10 classes of an image set")
        try require(movingDigitClips >= 1 && predictionClips >= 3, "movingDigitClips must be positive and predictionClips at least 3")
        try require(generator.conditionFrames == 0 || data.kind == .movingDigits, "frame prediction (generator.conditionFrames) needs clips: data.kind moving-digits")
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// The config stored in a tokenizer checkpoint, read without loading its weights.
enum TokenizerConfigFile {
    static func read(_ path: String) throws -> TokenizerConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError("tokenizer \(path): no such file (train one with `magvit train`, e.g. configs/fashion-mnist.yaml)")
        }
        return try VideoTokenizer.load(from: URL(fileURLWithPath: path)).config
    }
}
