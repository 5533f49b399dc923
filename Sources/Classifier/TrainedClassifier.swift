// A classifier ready to read videos: a trained VideoClassifier with what turns its clips into its
// inputs (its tokenizer, checked by weights hash), or the I3D Kinetics-400 network as a reference.
import ClassifierModel
import Dataset
import Foundation
import Metrics
import Tokenizer
import Torch

public struct TrainedClassifier {
    /// nil: the I3D reference, whose inputs are already its logits.
    public let model: VideoClassifier?
    public let classNames: [String]
    public let maker: ExampleMaker
    public let metadata: [String: String]
    /// The weights hash and name of the tokenizer a token classifier reads (nil for other inputs).
    public let tokenizer: (weights: String, name: String)?

    /// A `train-classifier` result; `tokenizer` overrides the path stored in it (same weights only).
    public static func load(_ url: URL, tokenizer path: String? = nil, device: Device = .cpu) throws -> TrainedClassifier {
        let (model, names, metadata) = try VideoClassifier.load(from: url, device: device)
        let c = model.config
        var tokenizer: VideoTokenizer?, identity: (weights: String, name: String)?
        if c.input == .bits || c.input == .factors {
            guard let path = path ?? metadata["tokenizer"] else { throw ClassifierError("\(url.path) names no tokenizer: give --tokenizer") }
            guard FileManager.default.fileExists(atPath: path) else {
                throw ClassifierError("tokenizer \(path) (named by \(url.lastPathComponent)): no such file; give --tokenizer")
            }
            let loaded = try VideoTokenizer.load(from: URL(fileURLWithPath: path), device: device)
            let weights = try loaded.weightsHash()
            if let expected = metadata["tokenizer_hash"], weights != expected {
                throw ClassifierError("tokenizer \(path) is not the one \(url.lastPathComponent) was trained on (weights \(expected.prefix(12))…)")
            }
            (tokenizer, identity) = (loaded, (weights, loaded.config.name))
        }
        let encoder = try ClipEncoder(input: c.input, tokenizer: tokenizer, device: device)
        return TrainedClassifier(model: model, classNames: names,
                                 maker: ExampleMaker(encoder: encoder, frames: c.clipFrames, size: c.resolution, channels: c.channels), metadata: metadata,
                                 tokenizer: identity)
    }

    /// I3D's own Kinetics-400 head on 16-frame RGB clips at 224×224.
    public static func kinetics(device: Device = .cpu) throws -> TrainedClassifier {
        TrainedClassifier(model: nil, classNames: try I3D.classNames(),
                          maker: ExampleMaker(encoder: try .kineticsLogits(device: device), frames: I3D.clipFrames, size: I3D.inputSize, channels: 3),
                          metadata: [:], tokenizer: nil)
    }

    /// A labelled token dataset's examples, refused unless this classifier reads tokens of the
    /// tokenizer that made it, on its grid, with its classes.
    public func examples(tokens dataset: TokenDataset, maxClips: Int) throws -> LabelledClips {
        guard let model, let tokenizer else { throw ClassifierError("a token dataset needs a token classifier (input bits or factors)") }
        return try ExampleMaker.tokens(dataset, maxClips: maxClips, tokenizer: tokenizer, classNames: classNames, grid: model.config.grid)
    }

    /// Clip probabilities (N, classes).
    public func probabilities(_ examples: LabelledClips) throws -> Tensor {
        guard let model else { return try examples.inputs.to(.float32).softmax(dim: 1) }
        return try Classification.probabilities(model: model, inputs: examples.inputs)
    }

    public func score(_ examples: LabelledClips) throws -> ClassificationScores {
        try Classification.score(probabilities: probabilities(examples), labels: examples.labels, videos: examples.videos,
                                 videoCount: examples.videoNames.count, classes: classNames.count)
    }

    /// Each video's classes by probability (its clips' mean), the `k` most likely.
    public func predictions(_ examples: LabelledClips, k: Int) throws -> [(video: String, clips: Int, top: [(name: String, probability: Double)])] {
        let video = try Classification.perVideo(probabilities(examples), videos: examples.videos, count: examples.videoNames.count)
        let clipVideos = try examples.videos.to(.int64).toArray(Int64.self)
        let top = try video.topk(Swift.min(k, classNames.count), dim: 1)
        let (values, indices) = (try top.values.toArray(Float.self), try top.indices.toArray(Int64.self))
        let n = top.values.size(1)
        return examples.videoNames.enumerated().compactMap { v, name in
            let clips = clipVideos.filter { $0 == v }.count
            guard clips > 0 else { return nil }
            return (name, clips, (0..<n).map { (classNames[Int(indices[v * n + $0])], Double(values[v * n + $0])) })
        }
    }
}
