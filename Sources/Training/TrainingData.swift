// The data of a training run, built from its config: a source of random training batches, where
// the batch of step s depends only on (seed, s), and a fixed held-out set.
import Foundation
import Tokenizer
import Torch

public final class TrainingData: @unchecked Sendable {
    enum Source {
        case images(ImageSet)
        case videos(VideoSet)
        case digits(MovingDigits)
    }

    let source: Source
    public let config: DataConfig
    public let channels: Int
    public let frames: Int
    public let size: Int
    public let seed: UInt64
    /// Held-out clips (N, C, T, S, S) in [-1, 1], and their labels when the set has them.
    public let heldOut: Tensor?
    public let heldOutLabels: [Int]?
    /// What was loaded, for the log.
    public let summary: String

    public init(_ config: TrainingConfig) throws {
        let model = config.model
        self.config = config.data
        channels = model.imageChannels
        frames = model.clipFrames
        size = model.resolution
        seed = config.run.seed
        let d = config.data
        switch d.kind {
        case .fashionMNIST, .mnist:
            let (train, test) = try TrainingData.digitSets(d)
            source = .images(train)
            let held = test ?? train
            heldOut = try held.clips(Array(0..<held.count), channels: channels, size: size, pad: d.pad)
            heldOutLabels = held.labels
            summary = "\(d.kind.rawValue): \(train.count) training images, \(held.count) held out"
        case .images:
            guard let folder = d.train.first, d.train.count == 1 else { throw ConfigError("data.train must name one folder of images") }
            let train = try ImageSet.folder(folder, size: size)
            source = .images(train)
            if let eval = d.eval.first {
                let held = try ImageSet.folder(eval, size: size)
                heldOut = try held.clips(Array(0..<held.count), channels: channels, size: size, pad: false)
                heldOutLabels = held.labels
            } else {
                heldOut = nil
                heldOutLabels = nil
            }
            summary = "images: \(train.count) from \(folder)"
        case .videos:
            guard !d.train.isEmpty else { throw ConfigError("data.train must name videos, frames files or folders of them") }
            let train = try VideoSet(paths: d.train)
            try train.check(frames: frames, size: size)
            source = .videos(train)
            if d.eval.isEmpty {
                heldOut = nil
            } else {
                let clips = try VideoSet(paths: d.eval).consecutiveClips(frames: frames, size: size)
                guard !clips.isEmpty else { throw ConfigError("data.eval: the held-out videos are shorter than one \(frames)-frame clip") }
                heldOut = try grey(stacked(clips), channels)
            }
            heldOutLabels = nil
            summary = "videos: \(train.names.joined(separator: ", "))"
        case .movingDigits:
            let (digits, _) = try TrainingData.digitSets(d)
            let moving = try MovingDigits(source: digits, data: d)
            source = .digits(moving)
            var random = SeededRandom(seed: config.run.seed, step: -1, stream: 7)
            let (frames, size, channels) = (frames, size, channels)
            heldOut = try stacked((0..<d.evalSamples).map { _ in
                try moving.clip(frames: frames, size: size, channels: channels, random: &random)
            })
            heldOutLabels = nil
            summary = "moving digits: \(d.digits) per clip from \(digits.count) glyphs"
        }
    }

    /// The (Fashion-)MNIST splits named by the config: IDX folders (default: Debian's Fashion-MNIST),
    /// or an mnist.pkl.gz pickle.
    public static func digitSets(_ d: DataConfig) throws -> (train: ImageSet, test: ImageSet?) {
        let path = d.train.first ?? (d.kind == .mnist ? MNISTPickle.defaultPath : ImageSet.fashionMNISTFolder)
        if path.hasSuffix(".pkl.gz") || path.hasSuffix(".pkl") {
            let splits = try MNISTPickle.read(path)
            return (splits.train, splits.test)
        }
        let test = d.eval.first ?? path
        return (try ImageSet.idx(folder: path, train: true), try ImageSet.idx(folder: test, train: false))
    }

    /// The training batch of `step`: (batch, C, T, S, S) in [-1, 1].
    public func batch(step: Int, size count: Int) throws -> Tensor {
        var random = SeededRandom(seed: seed, step: step)
        switch source {
        case .images(let set):
            let indices = (0..<count).map { _ in Int(random.next() % UInt64(set.count)) }
            let flips = config.flip ? (0..<count).map { _ in random.next() & 1 == 1 } : nil
            return try set.clips(indices, channels: channels, size: size, pad: config.pad, flips: flips)
        case .videos(let set):
            let clips = try (0..<count).map { _ in
                try set.randomClip(frames: frames, size: size, strides: config.frameStrides, cropScale: config.cropScale,
                                   flip: config.flip, random: &random)
            }
            return try grey(stacked(clips), channels)
        case .digits(let moving):
            return try stacked((0..<count).map { _ in try moving.clip(frames: frames, size: size, channels: channels, random: &random) })
        }
    }
}

/// Colour clips (B, 3, ...) averaged to grey when the model takes one channel.
private func grey(_ clips: Tensor, _ channels: Int) throws -> Tensor {
    channels == 1 && clips.size(1) == 3 ? try clips.mean([1], keepDim: true) : clips
}
