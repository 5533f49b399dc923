// Trains the video classifier through the run harness: the training and evaluation examples are
// made once (tokens, pixels or I3D features of their clips, cached in the run folder, keyed by the
// tokenizer's weights and the data settings), batches are a pure function of (seed, step), and the
// harness does the log, checkpoints, exact resume and time budget. The result is classifier.safetensors.
import ClassifierModel
import Dataset
import Foundation
import Harness
import Media
import NN
import Tokenizer
import Torch

public final class ClassifierTrainer: OptimizedRecipe {
    public static let abstract = "a video classifier on tokens (or pixels, or I3D features) of labelled clips"
    public let config: ClassifierTrainingConfig
    public let setup: RunSetup
    public let model: VideoClassifier
    public let classNames: [String]
    let tokenizer: RunTokenizer
    public let training: OptimizedModel
    public private(set) var train: LabelledClips?
    public private(set) var heldOut: LabelledClips?
    /// The confusion matrix image of the last evaluation.
    var confusion: Tensor?

    public var classifierURL: URL { folder.url.appendingPathComponent("classifier.safetensors") }

    public init(config: ClassifierTrainingConfig, directory: URL, resume: Bool, parallel: DataParallel? = nil,
                echo: @escaping (String) -> Void = { print($0) }) throws {
        self.config = config
        setup = try RunSetup(directory: directory, run: config.run, resume: resume, parallel: parallel, echo: echo)
        tokenizer = try RunTokenizer(config.tokenizer, setup: setup)
        let device = setup.device
        classNames = try config.classNames()
        model = try setup.seeded { try VideoClassifier(config: config.classifier, device: device) }
        if !config.initialize.isEmpty {
            let copied = try model.initialize(fromGenerator: URL(fileURLWithPath: config.initialize))
            echo("initialised \(copied) tensors from the generator \(config.initialize)")
        }
        training = try OptimizedModel(model.store, optimizer: config.optimizer, emaDecay: config.run.emaDecay)
    }

    // MARK: Trainer

    public var summary: String {
        "training a \(config.classifier.input.rawValue) classifier: \(model.parameterCount) parameters, \(classNames.count) classes, \(train?.count ?? 0) training clips of \(train?.videoNames.count ?? 0) videos"
    }

    public var headline: [String] { ["accuracy"] }

    public var identity: [String: String] { get throws { ["classifier_config": try ConfigFile.json(config.classifier)] } }

    /// Makes (or reads back) the training and evaluation examples.
    public func prepare(_ folder: RunFolder, log: RunLog) throws {
        let encoder = try ClipEncoder(input: config.classifier.input, tokenizer: tokenizer.model, device: device)
        let sets = ExampleSets(config: config, classNames: classNames, tokenizer: tokenizer, encoder: encoder, folder: folder.url, log: log)
        train = try sets.make(training: true)
        heldOut = try sets.make(training: false)
    }

    public func batchMaker() throws -> @Sendable (Int) throws -> (inputs: Tensor, labels: Tensor) {
        guard let train else { throw ConfigError("the classifier's training set was not prepared") }
        let draw = randomBatches(of: train.inputs, labels: train.labels, batch: config.run.batch, seed: config.run.seed, device: device, parallel: parallel)
        return { try draw($0) }
    }

    public func step(_ batch: (inputs: Tensor, labels: Tensor), context: StepContext) throws -> [String: Double] {
        let (inputs, labels) = (try context.microBatches(batch.inputs), try context.microBatches(batch.labels))
        return try training.step(parts: inputs.count, context: context, clipNorm: config.optimizer.clipNorm) { i in
            let logits = try context.autocast { try model.logits(inputs[i], training: true) }.to(.float32)
            let loss = try crossEntropy(logits, labels[i], labelSmoothing: config.classifier.labelSmoothing)
            return (loss, ["loss": try loss.item(), "accuracy": try logits.argmax(dim: 1).eq(labels[i]).to(.float32).mean().item()])
        }
    }

    /// Top-1 / top-5 of the held-out videos (clip probabilities averaged per video) and per class.
    public func evaluate(step: Int, final: Bool, log: RunLog) throws -> [String: Any] {
        guard let heldOut else { return [:] }
        let scores = try Classification.score(model: model, examples: heldOut, classes: classNames.count, batch: config.run.batch)
        log.say(scores.line(classNames: classNames, what: "held-out"))
        confusion = try scores.confusionImage()
        return scores.record(classNames: classNames)
    }

    public func samples(step: Int) throws -> [String: Tensor] { confusion.map { ["confusion": $0] } ?? [:] }

    public func finish(_ folder: RunFolder, metadata: [String: String], dtype: DType) throws -> URL {
        var extra = metadata.merging(tokenizer.metadata) { _, own in own }
        extra["data"] = config.data.kind.rawValue
        try model.save(to: classifierURL, classNames: classNames, metadata: extra, dtype: dtype)
        return classifierURL
    }
}

/// The training and held-out examples of a config, cached in the run folder.
struct ExampleSets {
    let config: ClassifierTrainingConfig
    let classNames: [String]
    let tokenizer: RunTokenizer
    let encoder: ClipEncoder
    let folder: URL
    let log: RunLog

    func make(training: Bool) throws -> LabelledClips {
        let name = training ? "train" : "eval"
        let cache = folder.appendingPathComponent("examples-\(name).safetensors")
        let key = try cacheKey(training: training)
        if let file = try? SafeTensors.read(cache), file.metadata["key"] == key, let inputs = file.tensors["inputs"], let labels = file.tensors["labels"],
           let videos = file.tensors["videos"], let names = file.metadata["video_names"].flatMap({ try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }) {
            return LabelledClips(inputs: inputs, labels: labels, videos: videos, videoNames: names)
        }
        let start = Date()
        let set = try build(training: training)
        let names = String(decoding: try JSONEncoder().encode(set.videoNames), as: UTF8.self)
        try SafeTensors.write(set.tensors(), metadata: ["key": key, "video_names": names], to: cache)
        log.say(String(format: "made %d %@ examples (%@, %d videos) in %.0f s", set.count, name, config.classifier.input.rawValue, set.videoNames.count,
                       Date().timeIntervalSince(start)))
        return set
    }

    func cacheKey(training: Bool) throws -> String {
        let settings = [tokenizer.hash, config.classifier.input.rawValue, try ConfigFile.json(config.data),
                        "\(config.trainClips) \(config.evalClips) \(config.maxClipsPerVideo) \(config.run.seed) \(training)"]
        return settings.joined(separator: "|")
    }

    func build(training: Bool) throws -> LabelledClips {
        let c = config.classifier
        let maker = ExampleMaker(encoder: encoder, frames: c.clipFrames, size: c.resolution, channels: c.channels)
        switch config.data.kind {
        case .motionClasses:
            let digits = try MotionDigits(data: config.data, seed: config.run.seed)
            let (split, count) = training ? (MotionDigits.Split.train, config.trainClips) : (.validation, config.evalClips)
            return try maker.motionDigits(digits, split, count: count) { log.progress(step: $0, of: count, stepsPerSecond: 0, loss: nil) }
        case .videos:
            guard training || !config.data.eval.isEmpty else { throw ConfigError("data.eval must name held-out labelled videos") }
            let list = try config.videoInputs(training ? config.data.train : config.data.eval, training ? "data.train" : "data.eval")
            guard list.classes == classNames else { throw ConfigError("data.eval's classes \(list.classes) are not data.train's \(classNames)") }
            let made = try maker.videos(list, maxClips: config.maxClipsPerVideo, workers: config.workers) {
                log.progress(step: $0, of: list.files.count, stepsPerSecond: 0, loss: nil)
            }
            // A set with holes would silently differ from the one asked for.
            if let failure = made.failures.first { throw ConfigError("\(failure.path): \(failure.message)") }
            return made.examples
        case .tokens:
            guard training || !config.data.eval.isEmpty else { throw ConfigError("data.eval must name a held-out labelled token dataset") }
            let dataset = try config.tokenDataset(training ? config.data.path : config.data.eval[0], training ? "data.path" : "data.eval")
            return try ExampleMaker.tokens(dataset, maxClips: config.maxClipsPerVideo, tokenizer: (tokenizer.hash, tokenizer.model.config.name),
                                           classNames: classNames, grid: c.grid)
        default:
            let count = training ? config.trainClips : config.evalClips
            return try maker.labelled(config.clipSource(), training: training, count: count) { log.progress(step: $0, of: count, stepsPerSecond: 0, loss: nil) }
        }
    }
}
