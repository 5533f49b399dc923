// `magvit train-classifier CONFIG`: the tokenizer (its tokens, or the clip shape and grid the
// pixel and feature inputs share), the labelled data, the classifier, an optional generator to
// start from, and the optimizer/run sections every trainer shares.
import Dataset
import Foundation
import Harness
import Tokenizer
import Training

public struct ClassifierTrainingConfig: Codable, Sendable {
    /// The tokenizer checkpoint: its clip shape and latent grid fix the classifier's.
    public var tokenizer = ""
    /// kind motion-digits (data.train: the digit glyphs), videos (data.train and data.eval: labelled
    /// videos, data.labels folders or a CSV) or tokens (data.path and data.eval: labelled token datasets).
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
        data.kind = .motionDigits
        optimizer.learningRate = 5e-4
        optimizer.weightDecay = 0.05
        run.emaDecay = 0
    }

    /// Relative paths in the file are relative to its folder (`ShippedResources.resolve`).
    public static func load(_ url: URL, assignments: [String] = []) throws -> ClassifierTrainingConfig {
        try parse(ConfigFile.text(of: url), name: url.lastPathComponent, assignments: assignments, folder: url.deletingLastPathComponent())
    }

    /// The grid, vocabulary and clip shape come from the tokenizer, the classes from the data;
    /// `folder`: the config file's, against which its relative paths are resolved (nil: kept as given).
    public static func parse(_ text: String, name: String = "config.yaml", assignments: [String] = [], folder: URL? = nil) throws -> ClassifierTrainingConfig {
        let overrides = try ConfigFile.overrides(text, name: name, assignments: assignments, folder: folder,
                                                 pathKeys: ["tokenizer", "initialize"] + DataConfig.pathKeys, keeping: DataConfig.labelWords)
        var config: ClassifierTrainingConfig
        do { config = try ConfigFile.decode(ClassifierTrainingConfig.self, overrides: overrides, defaults: ClassifierTrainingConfig()) } catch let e as ConfigError {
            throw ConfigError("\(name): \(e.message)")
        }
        guard !config.tokenizer.isEmpty else { throw ConfigError("\(name): tokenizer must name a trained tokenizer checkpoint") }
        guard FileManager.default.fileExists(atPath: config.tokenizer) else { throw ConfigError("\(name): tokenizer \(config.tokenizer): no such file") }
        let t = try VideoTokenizer.load(from: URL(fileURLWithPath: config.tokenizer)).config
        let given = overrides["classifier"] as? [String: Any] ?? [:]
        let bits = t.quantizer.bits
        config.classifier.vocabularyBits = bits
        if given["factorBits"] == nil { config.classifier.factorBits = bits <= 12 ? [bits] : [bits / 2, bits - bits / 2] }
        let g = t.tokenGrid(frames: t.clipFrames, height: t.resolution, width: t.resolution)
        config.classifier.grid = [g.t, g.h, g.w]
        (config.classifier.channels, config.classifier.clipFrames, config.classifier.resolution) = (t.imageChannels, t.clipFrames, t.resolution)
        for key in ["vocabularyBits", "grid", "channels", "clipFrames", "resolution", "classes"] where given[key] != nil {
            throw ConfigError("\(name): classifier.\(key) comes from the tokenizer and the data; leave it out")
        }
        config.classifier.classes = try config.classNames().count
        do { try config.classifier.validate() } catch { throw ConfigError("\(name): classifier: \(error)") }
        try config.validate()
        return config
    }

    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw ConfigError(message) } }
        try run.validate()
        try optimizer.validate()
        try require([.motionDigits, .videos, .tokens].contains(data.kind), "data.kind must be motion-digits, videos or tokens, got \(data.kind)")
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
        case .motionDigits: return MotionDigits.classNames
        case .videos: return try videoInputs(data.train, "data.train").classes
        default: return try tokenDataset(data.path, "data.path").index.classes
        }
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
        guard !path.isEmpty else { throw ConfigError("\(setting) must name a labelled token dataset (made by `magvit tokenize --labels ...`)") }
        let dataset: TokenDataset
        do { dataset = try TokenDataset(URL(fileURLWithPath: path)) } catch let e as DatasetError { throw ConfigError("\(setting): \(e.description)") }
        guard dataset.index.classes.count >= 2 else { throw ConfigError("\(setting): \(path) has \(dataset.index.classes.count) classes; tokenize labelled videos (--labels folders or a CSV)") }
        return dataset
    }

    public func json() throws -> String { try ConfigFile.json(self, pretty: true) }
}
