// Trains the video classifier through the run harness: the training and evaluation examples are
// made once (tokens, pixels or I3D features of their clips, cached in the run folder, keyed by the
// tokenizer's weights and the data settings), batches are a pure function of (seed, step), and the
// harness does the log, checkpoints, exact resume and time budget. The result is classifier.safetensors.
import ClassifierModel
import Dataset
import Foundation
import Harness
import NN
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

    public init(config: ClassifierTrainingConfig, setup: RunSetup) throws {
        (self.config, self.setup) = (config, setup)
        tokenizer = try RunTokenizer(config.tokenizer, setup: setup)
        let device = setup.device
        classNames = try config.classNames()
        model = try setup.seeded { try VideoClassifier(config: config.classifier, device: device) }
        if !config.initialize.isEmpty {
            let copied = try model.initialize(fromGenerator: URL(fileURLWithPath: config.initialize))
            setup.echo("initialised \(copied) tensors from the generator \(config.initialize)")
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
        train = try examples(training: true, encoder: encoder, folder: folder.url, log: log)
        heldOut = try examples(training: false, encoder: encoder, folder: folder.url, log: log)
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
