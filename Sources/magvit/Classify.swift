// The classifier's commands: `magvit train-classifier CONFIG`, `magvit classify VIDEO...` (a
// trained classifier, or I3D's Kinetics-400 head) and `magvit eval classify` (top-1/top-5, per
// class, confusion matrix).
import ArgumentParser
import Classifier
import Dataset
import Foundation
import Harness
import NN
import Torch

struct TrainClassifier: ParsableCommand {
    static let configuration = RecipeAlias.configuration(ClassifierTrainer.self, example: "configs/motion-digits-classifier.yaml -o runs/classifier", folder: """
        config.json, log.jsonl, examples-{train,eval}.safetensors (the clips' inputs, made once), \
        samples/confusion-step-N.png, checkpoint.safetensors (to --resume exactly) and classifier.safetensors.
        """)
    @OptionGroup var alias: RecipeAlias

    func run() throws { try alias.train(ClassifierTrainer.self) }
}

/// Which classifier reads the videos.
struct ClassifierOptions: ParsableArguments {
    @Option(help: "Classifier checkpoint (classifier.safetensors of train-classifier).") var model: String?
    @Flag(help: "Use I3D's own Kinetics-400 head instead (16-frame RGB clips at 224x224; a reference on real videos).") var i3d = false
    @Option(help: "Tokenizer of a token classifier (default: the one the classifier names; it must have the same weights).") var tokenizer: String?
    @Option(help: "Clips read from each video (consecutive, from the start); their probabilities are averaged.") var maxClips = 8
    @Option(help: "Decoder processes reading ahead of the model.") var workers = 2

    func load(device: Device) throws -> TrainedClassifier {
        guard maxClips >= 1, workers >= 1 else { throw ValidationError("--max-clips and --workers must be at least 1") }
        switch (model, i3d) {
        case (nil, true): return try TrainedClassifier.kinetics(device: device)
        case (let path?, false): return try TrainedClassifier.load(URL(fileURLWithPath: path), tokenizer: tokenizer, device: device)
        default: throw ValidationError("give either --model CLASSIFIER or --i3d")
        }
    }
}

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify videos: the most likely classes of each, with probabilities.",
        discussion: """
            Each video is cut into consecutive clips of the classifier's length (at most --max-clips) at its resolution \
            (centre crop), and the clips' probabilities are averaged. A file that cannot be decoded is reported and \
            left out; the exit status is then 2. Examples:
              magvit classify --model runs/classifier/classifier.safetensors clip.mp4
              magvit classify --i3d .deps/media/bikes.mp4 --top-k 5
            """)

    @Argument(help: "Videos (files, folders, patterns, .txt lists).") var videos: [String]
    @OptionGroup var classifier: ClassifierOptions
    @Option(help: "Classes shown per video.") var topK = 5
    @Option(help: "Write the predictions as JSON here.") var json: String?
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try Destination.reports(json)
        // Class names come from the model file: controls escaped.
        func print(_ line: String) { Swift.print(TerminalText.escaped(line)) }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
        let device = try runtime.apply()
        let trained = try classifier.load(device: device)
        let list = try InputList.expand(videos)
        let made = try trained.maker.videos(list, maxClips: classifier.maxClips, workers: classifier.workers)
        let predictions = try trained.predictions(made.examples, k: topK)
        for p in predictions {
            print("\(p.video) (\(p.clips) clip\(p.clips == 1 ? "" : "s"))")
            for (rank, top) in p.top.enumerated() { print("  \(rank + 1). " + top.name.padding(toLength: Swift.max(32, top.name.count), withPad: " ", startingAt: 0) + String(format: " %.4f", top.probability)) }
        }
        if let json {
            let rows: [[String: Any]] = predictions.map { p in
                ["video": p.video, "clips": p.clips, "top": p.top.map { ["class": $0.name, "probability": $0.probability] }]
            }
            let output: [String: Any] = ["classifier": classifier.model ?? "i3d-kinetics-400", "videos": rows,
                                         "failures": made.failures.map { ["path": $0.path, "error": $0.message] }]
            try OutputFiles.write(try JSONSerialization.data(withJSONObject: output, options: [.prettyPrinted, .sortedKeys]), to: URL(fileURLWithPath: json))
        }
        try reportFailures(made.failures, of: list.files.count)
    }
}

struct EvaluateClassification: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Accuracy of a classifier on labelled videos, a labelled token dataset or the motion-digits test split.",
        discussion: """
            Video-level top-1 and top-5 (each video's clip probabilities averaged), clip-level top-1, accuracy per class \
            and the confusion matrix (rows: true class, columns: predicted); --confusion draws it. Examples:
              magvit eval classify --model runs/classifier/classifier.safetensors --motion-digits 2000
              magvit eval classify --model M.safetensors --motion-digits 2000 --shuffle-frames   # the control
              magvit eval classify --model M.safetensors videos/   # a sub-folder per class
            """)

    @Argument(help: "Labelled videos: folders with a sub-folder per class (or files with --labels FILE.csv).") var videos: [String] = []
    @Option(help: "Labels of the videos: folders, or a CSV of path,label rows.") var labels = "folders"
    @Option(help: "Score a labelled token dataset (magvit tokenize --labels ...) instead.") var tokens: String?
    @Option(help: "Score this many clips of the motion-digits test split instead.") var motionDigits: Int?
    @Option(help: "Digit glyphs of --motion-digits: an MNIST pickle or a Fashion-MNIST folder (default: the training run's).") var digits: String?
    @Option(help: "Seed of --motion-digits (default: the training run's run.seed).") var seed: UInt64?
    @Flag(help: "The control: shuffle the frames of every motion-digits clip.") var shuffleFrames = false
    @OptionGroup var classifier: ClassifierOptions
    @Option(help: "Write the scores as JSON here.") var json: String?
    @Option(help: "Draw the confusion matrix into this PNG.") var confusion: String?
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        try Destination.reports(json, confusion)
        // Class names come from the model file: controls escaped.
        func print(_ line: String) { Swift.print(TerminalText.escaped(line)) }
        let sources = [!videos.isEmpty, tokens != nil, motionDigits != nil].filter { $0 }.count
        guard sources == 1 else { throw ValidationError("give one of: labelled videos, --tokens DATASET or --motion-digits N") }
        guard !shuffleFrames || motionDigits != nil else { throw ValidationError("--shuffle-frames applies to --motion-digits") }
        let device = try runtime.apply()
        let trained = try classifier.load(device: device)
        var failures: [(path: String, message: String)] = [], files = 0
        let examples: LabelledClips
        if let count = motionDigits {
            guard count >= 1 else { throw ValidationError("--motion-digits must be at least 1") }
            guard trained.classNames == MotionDigits.classNames else { throw ToolError("the classifier's classes are not the motion-digits classes") }
            // The glyphs and seed of the training run, unless given.
            let training = try trained.metadata["training_config"].map { try ClassifierTrainingConfig.saved($0, name: "the classifier's training_config.json") }
            var data = training?.data ?? DataConfig()
            data.kind = .motionClasses
            if let digits { data.train = [digits] }
            let set = try MotionDigits(data: data, seed: seed ?? training?.run.seed ?? 0)
            examples = try trained.maker.motionDigits(set, .test, count: count, shuffled: shuffleFrames)
        } else if let tokens {
            guard trained.model?.config.input == .bits || trained.model?.config.input == .factors else {
                throw ValidationError("--tokens needs a token classifier (input bits or factors)")
            }
            examples = try trained.examples(tokens: TokenDataset(URL(fileURLWithPath: tokens)), maxClips: classifier.maxClips)
        } else {
            let list = try InputList.expand(videos, labels: LabelSource(labels))
            guard list.classes == trained.classNames else {
                throw ToolError("the videos' classes \(list.classes) are not the classifier's \(trained.classNames)")
            }
            let made = try trained.maker.videos(list, maxClips: classifier.maxClips, workers: classifier.workers)
            (examples, failures, files) = (made.examples, made.failures, list.files.count)
        }
        let scores = try trained.score(examples)
        print(scores.line(classNames: trained.classNames, what: shuffleFrames ? "shuffled frames" : "test"))
        for (name, a) in zip(trained.classNames, scores.perClass) {
            print("  " + name.padding(toLength: Swift.max(28, name.count), withPad: " ", startingAt: 0) + " " + (a.map { String(format: "%.2f %%", 100 * $0) } ?? "no videos"))
        }
        print("confusion (rows: true, columns: predicted):")
        for row in scores.confusion { print("  " + row.map { String(format: "%5d", $0) }.joined()) }
        if let confusion { try OutputFiles.write(try PNG.encode(scores.confusionImage()), to: URL(fileURLWithPath: confusion)) }
        if let json {
            var record = scores.record(classNames: trained.classNames)
            record["classifier"] = classifier.model ?? "i3d-kinetics-400"
            record["shuffled_frames"] = shuffleFrames
            try OutputFiles.write(try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys]), to: URL(fileURLWithPath: json))
        }
        try reportFailures(failures, of: files)
    }

}

/// Files left out: a line each on standard error, then exit status 2.
func reportFailures(_ failures: [(path: String, message: String)], of files: Int) throws {
    guard !failures.isEmpty else { return }
    for f in failures { FileHandle.standardError.write(Data("skipped \(f.path): \(f.message)\n".utf8)) }
    FileHandle.standardError.write(Data("error: \(failures.count) of \(files) files could not be decoded and were left out\n".utf8))
    throw ExitCode(2)
}
