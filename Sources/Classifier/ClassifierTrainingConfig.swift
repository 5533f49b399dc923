// `magvit train-classifier CONFIG`: the tokenizer (its tokens, or the clip shape and grid the
// pixel and feature inputs share), the labelled data, the classifier, an optional generator to
// start from, and the optimizer/run sections every trainer shares.
import ClassifierModel
import Dataset
import Foundation
import Harness
import Tokenizer

public struct ClassifierTrainingConfig: RecipeConfig {
    /// The tokenizer checkpoint: its clip shape and latent grid fix the classifier's.
    public var tokenizer = ""
    /// kind motion-classes (the motion-digits benchmark; data.train: the digit glyphs), videos (data.train and data.eval: labelled
    /// videos, data.labels folders or a CSV), tokens (data.path and data.eval: labelled token datasets), or
    /// any registered clip source whose examples can be indexed and carry labels (fashion-mnist, mnist, images).
    public var data = DataConfig()
    public var classifier = ClassifierConfig()
    public var optimizer = OptimizerConfig()
    public var run = RunConfig()
    /// A generator checkpoint (masked-token pre-training on the same tokenizer's tokens) whose
    /// embeddings, positions and blocks start the classifier; empty: trained from scratch.
    public var initialize = ""
    /// Motion digits: clips of the training split, and validation clips scored at evaluations.
    public var trainClips = 4000
    public var evalClips = 1000
    /// Videos: at most this many consecutive clips of each video (training and evaluation).
    public var maxClipsPerVideo = 8
    /// Decoder processes for videos.
    public var workers = 2

    public init() {
        data.kind = .motionClasses
        optimizer.learningRate = 5e-4
        optimizer.weightDecay = 0.05
        run.emaDecay = 0
    }

    public static let recipe = "classifier"
    /// The settings that name files or folders, resolved when a config is read from a file.
    public static let pathKeys = ["tokenizer", "initialize"] + DataConfig.pathKeys
    public static let pathWords = DataConfig.labelWords
    public static let unhonoured: [String: String] = {
        var keys: [String: String] = [:]
        for key in ["flip", "frameStrides", "cropScale"] {
            keys["data." + key] = "the classifier makes its examples once, as they are (no random flips, strides or crops)"
        }
        for key in ["imageBatch", "images"] { keys["data." + key] = "still images beside clips are a tokenizer setting" }
        for key in ["evalWholeSet", "evalSamples"] { keys["data." + key] = "the classifier scores evalClips held-out clips, or every clip of data.eval" }
        keys["data.tokenCache"] = "only the generator keeps an encoding of its training set (the classifier's is data.path, a token dataset)"
        keys["run.dtype"] = "the classifier trains in float32 (bf16 autocast on CUDA with run.mixedPrecision)"
        keys["optimizer.discriminatorLearningRate"] = "the classifier has no discriminator"
        return keys
    }()
    public var prefetch: Int { data.prefetch }

    public static func defaults(taking overrides: inout [String: Any]) throws -> ClassifierTrainingConfig { ClassifierTrainingConfig() }

    /// The grid, vocabulary and clip shape come from the tokenizer, the classes from the data.
    public func checkGiven(_ overrides: [String: Any], defaults: ClassifierTrainingConfig) throws {
        try DataSources.checkSettings(given: overrides, data, defaults: defaults.data, recipeKinds: TokenSources.settings.merging([.motionClasses: ["digitSize"]]) { $1 })
        let wholeVideos = [.videos, .tokens].contains(data.kind)
        try ConfigError.refuseUnread([
            (classifier.featureDimensions != ClassifierConfig().featureDimensions && classifier.input != .features, "classifier.featureDimensions",
             "with classifier.input features"),
            (workers != defaults.workers && data.kind != .videos, "workers", "with data.kind videos (the decoder processes)"),
            (maxClipsPerVideo != defaults.maxClipsPerVideo && !wholeVideos, "maxClipsPerVideo", "with data.kind videos or tokens"),
            (trainClips != defaults.trainClips && wholeVideos, "trainClips", "with a source of clips (every clip of the videos or tokens is used)"),
            (evalClips != defaults.evalClips && wholeVideos, "evalClips", "with a source of clips (every clip of data.eval is scored)"),
        ])
    }

    public mutating func derive(given overrides: [String: Any]) throws {
        guard !tokenizer.isEmpty else { throw ConfigError("tokenizer must name a trained tokenizer checkpoint") }
        guard FileManager.default.fileExists(atPath: tokenizer) else { throw ConfigError("tokenizer \(tokenizer): no such file") }
        let t = try VideoTokenizer.load(from: URL(fileURLWithPath: tokenizer)).config
        let given = overrides["classifier"] as? [String: Any] ?? [:]
        for key in ["vocabularyBits", "grid", "channels", "clipFrames", "resolution", "classes"] where given[key] != nil {
            throw ConfigError("classifier.\(key) comes from the tokenizer and the data; leave it out")
        }
        classifier.vocabularyBits = t.quantizer.bits
        if given["factorBits"] == nil { classifier.factorBits = t.quantizer.tokenFactors }
        try ConfigError.refuseUnread([(classifier.input != .factors && classifier.factorBits != t.quantizer.tokenFactors, "classifier.factorBits",
                                       "with classifier.input factors")])
        classifier.grid = t.latentGrid
        (classifier.channels, classifier.clipFrames, classifier.resolution) = (t.imageChannels, t.clipFrames, t.resolution)
        classifier.classes = try classNames().count
        do { try classifier.validate() } catch { throw ConfigError("classifier: \(error)") }
    }

    public func validate() throws {
        let require = ConfigError.require
        try run.validate()
        try optimizer.validate()
        try requireKnownKind()
        try require(data.kind != .tokens || [.bits, .factors].contains(classifier.input),
                    "a token dataset holds no pixels: classifier.input must be bits or factors")
        try require(trainClips >= 1 && evalClips >= 1 && maxClipsPerVideo >= 1 && workers >= 1,
                    "trainClips, evalClips, maxClipsPerVideo and workers must be positive")
        try require(initialize.isEmpty || [.bits, .factors].contains(classifier.input),
                    "initialize (a generator's weights) needs token input: classifier.input bits or factors")
    }

    /// The class names, in id order.
    public func classNames() throws -> [String] {
        switch data.kind {
        case .motionClasses: return MotionDigits.classNames
        case .videos: return try videoInputs(data.train, "data.train").classes
        case .tokens: return try tokenDataset(data.path, "data.path").index.classes
        default:
            try requireKnownKind()
            let classes = try clipSource().classes
            guard classes >= 2 else { throw ConfigError("data.kind \(data.kind) has \(classes) label classes; a classifier needs at least 2") }
            return (0..<classes).map(String.init)
        }
    }

    /// Fails, listing the kinds, unless `data.kind` is one the classifier reads.
    func requireKnownKind() throws {
        guard [.motionClasses, .videos, .tokens].contains(data.kind) || DataSources.kinds.contains(data.kind) else {
            throw ConfigError("data.kind must be motion-classes, videos, tokens or a labelled clip source (\(DataSources.kinds.map(\.rawValue).joined(separator: ", "))), got \(data.kind)")
        }
    }

    /// The registered clip source of `data.kind`, at the tokenizer's clip shape.
    func clipSource() throws -> any ClipSource {
        try DataSources.make(data, shape: ClipShape(channels: classifier.channels, frames: classifier.clipFrames, size: classifier.resolution), seed: run.seed)
    }

    /// Labelled videos named by `paths`.
    func videoInputs(_ paths: [String], _ setting: String) throws -> InputList {
        guard !paths.isEmpty else { throw ConfigError("\(setting) must name labelled videos (a folder with a sub-folder per class, or files with data.labels a CSV)") }
        let labels = data.labels == "none" ? "folders" : data.labels
        let list: InputList
        do { list = try InputList.expand(paths, labels: LabelSource(labels)) } catch let e as DatasetError { throw ConfigError("\(setting): \(e.description)") }
        guard list.classes.count >= 2 else { throw ConfigError("\(setting): \(list.classes.count) class found; a classifier needs at least 2") }
        return list
    }

    func tokenDataset(_ path: String, _ setting: String) throws -> TokenDataset {
        let dataset = try TokenSources.open(path, setting: setting)
        guard dataset.index.classes.count >= 2 else { throw ConfigError("\(setting): \(path) has \(dataset.index.classes.count) classes; tokenize labelled videos (--labels folders or a CSV)") }
        return dataset
    }
}
