// Clip sources: random crops of videos (held out: consecutive clips of other videos) and synthetic
// moving digits (training digits for training clips, test-split digits for held-out clips).
import Foundation
import Harness
import Torch

/// Random clips of videos or frames files: a random video, start, stride, crop and flip per clip.
public final class VideoClipSource: ShardedClipSource {
    let train: VideoSet
    let config: DataConfig
    let shape: ClipShape
    let seed: UInt64

    public init(config: DataConfig, shape: ClipShape, seed: UInt64) throws {
        train = try VideoSet(paths: config.trainPaths(naming: "videos, frames files or folders of them"))
        try train.check(frames: shape.frames, size: shape.size)
        self.config = config
        self.shape = shape
        self.seed = seed
    }

    public var summary: String { "videos: \(train.names.joined(separator: ", "))" }
    public var count: Int? { nil }
    public var classes: Int { 0 }

    /// Each clip a pure function of (seed, step, row).
    public func batch(step: Int, rows: [Int]) throws -> Clips {
        let clips = try rows.map { row in
            var random = SeededRandom(seed: seed, step: step, example: row)
            return try train.randomClip(frames: shape.frames, size: shape.size, strides: config.frameStrides, cropScale: config.cropScale,
                                        flip: config.flip, random: &random)
        }
        return Clips(clips: try grey(stacked(clips), shape.channels))
    }

    /// Consecutive clips of the centre squares of the held-out videos.
    public func heldOut(limit: Int) throws -> Clips? {
        guard !config.eval.isEmpty else { return nil }
        let clips = try VideoSet(paths: config.eval).consecutiveClips(frames: shape.frames, size: shape.size)
        guard !clips.isEmpty else { throw ConfigError("data.eval: the held-out videos are shorter than one \(shape.frames)-frame clip") }
        return Clips(clips: try grey(stacked(Array(clips.prefix(limit))), shape.channels))
    }
}

/// Digits bouncing in a square (`data.digits` per clip, `data.digitSize` pixels a side), from the
/// glyphs of an image set (Fashion-MNIST or MNIST files named by `data.train`, Fashion-MNIST by default).
public final class MovingDigitSource: ShardedClipSource {
    let training: MovingDigits
    let held: MovingDigits
    let glyphs: Int
    let config: DataConfig
    let shape: ClipShape
    let seed: UInt64

    public init(config: DataConfig, shape: ClipShape, seed: UInt64) throws {
        let (train, test) = try DigitImageSource.splits(config)
        training = try MovingDigits(source: train, data: config)
        held = try MovingDigits(source: test ?? train, data: config)
        glyphs = train.count
        self.config = config
        self.shape = shape
        self.seed = seed
    }

    public var summary: String { "moving digits: \(config.digits) per clip from \(glyphs) glyphs" }
    public var count: Int? { nil }
    public var classes: Int { 0 }

    /// Each clip a pure function of (seed, step, row).
    public func batch(step: Int, rows: [Int]) throws -> Clips {
        Clips(clips: try stacked(rows.map { row in
            var random = SeededRandom(seed: seed, step: step, example: row)
            return try training.clip(frames: shape.frames, size: shape.size, channels: shape.channels, random: &random)
        }))
    }

    /// Clip i of the training stream: a pure function of (seed, i).
    public func examples(_ indices: [Int]) throws -> Clips { Clips(clips: try clips(training, indices, stream: 101)) }

    /// Clip i of the held-out stream, drawn from the test split's digits.
    public func heldOut(limit: Int) throws -> Clips? { Clips(clips: try clips(held, Array(0..<Swift.min(limit, config.evalSamples)), stream: 102)) }

    private func clips(_ digits: MovingDigits, _ indices: [Int], stream: UInt64) throws -> Tensor {
        try stacked(indices.map { i in
            var random = SeededRandom(seed: seed, step: i, stream: stream)
            return try digits.clip(frames: shape.frames, size: shape.size, channels: shape.channels, random: &random)
        }, dim: 0)
    }
}
