// Image sets as clip sources: (Fashion-)MNIST with their test splits and labels, and folders of
// images (labels from subfolders). Images are 1-frame clips.
import Foundation
import Harness
import Torch

/// Fashion-MNIST (IDX folders) or MNIST (mnist.pkl.gz): random images with optional flips, the test
/// split held out.
public final class DigitImageSource: ShardedClipSource {
    public let train: ImageSet
    public let test: ImageSet?
    let config: DataConfig
    let shape: ClipShape
    let seed: UInt64

    public init(config: DataConfig, shape: ClipShape, seed: UInt64) throws {
        (train, test) = try Self.splits(config)
        self.config = config
        self.shape = shape
        self.seed = seed
    }

    /// The splits a data section names: IDX folders (default: Debian's Fashion-MNIST), or an
    /// mnist.pkl.gz pickle (default: the one setup fetches for kind mnist).
    public static func splits(_ d: DataConfig) throws -> (train: ImageSet, test: ImageSet?) {
        let path = d.train.first ?? (d.kind == .mnist ? MNISTPickle.defaultPath : ImageSet.fashionMNISTFolder)
        if path.hasSuffix(".pkl.gz") || path.hasSuffix(".pkl") {
            let splits = try MNISTPickle.read(path)
            return (splits.train, splits.test)
        }
        return (try ImageSet.idx(folder: path, train: true), try ImageSet.idx(folder: d.eval.first ?? path, train: false))
    }

    public var summary: String { "\(config.kind): \(train.count) training images, \((test ?? train).count) held out" }
    public var count: Int? { train.count }
    public var classes: Int { train.labels == nil ? 0 : 10 }
    /// 28 for (Fashion-)MNIST padded to a larger model size.
    public var paddedFrom: Int? {
        let side = train.images.size(1)
        return config.pad && side < shape.size ? side : nil
    }

    public func batch(step: Int, rows: [Int]) throws -> Clips {
        try randomImages(train, step: step, rows: rows, seed: seed, config: config, shape: shape)
    }

    public func examples(_ indices: [Int]) throws -> Clips {
        Clips(clips: try train.clips(indices, channels: shape.channels, size: shape.size, pad: config.pad), labels: try labelTensor(train.labels, indices))
    }

    public func heldOut(limit: Int) throws -> Clips? {
        let held = test ?? train
        let indices = Array(0..<Swift.min(limit, held.count))
        return Clips(clips: try held.clips(indices, channels: shape.channels, size: shape.size, pad: config.pad),
                     labels: try labelTensor(held.labels, indices))
    }
}

/// A folder of images for training and optionally one held out (`data.eval`).
public final class ImageFolderSource: ShardedClipSource {
    let train: ImageSet
    let folder: String
    let eval: String?
    let config: DataConfig
    let shape: ClipShape
    let seed: UInt64

    public init(config: DataConfig, shape: ClipShape, seed: UInt64) throws {
        guard let folder = config.train.first, config.train.count == 1 else { throw ConfigError("data.train must name one folder of images") }
        train = try ImageSet.folder(folder, size: shape.size)
        self.folder = folder
        eval = config.eval.first
        self.config = config
        self.shape = shape
        self.seed = seed
    }

    public var summary: String { "images: \(train.count) from \(folder)" }
    public var count: Int? { train.count }
    public var classes: Int { (train.labels?.max() ?? -1) + 1 }

    public func batch(step: Int, rows: [Int]) throws -> Clips {
        try randomImages(train, step: step, rows: rows, seed: seed, config: config, shape: shape)
    }

    public func examples(_ indices: [Int]) throws -> Clips {
        Clips(clips: try train.clips(indices, channels: shape.channels, size: shape.size, pad: false), labels: try labelTensor(train.labels, indices))
    }

    public func heldOut(limit: Int) throws -> Clips? {
        guard let eval else { return nil }
        let held = try ImageSet.folder(eval, size: shape.size)
        let indices = Array(0..<Swift.min(limit, held.count))
        return Clips(clips: try held.clips(indices, channels: shape.channels, size: shape.size, pad: false), labels: try labelTensor(held.labels, indices))
    }
}

/// Random images of a set, with random flips when the config asks: rows `rows` of the step's batch,
/// each a pure function of (seed, step, row).
func randomImages(_ set: ImageSet, step: Int, rows: [Int], seed: UInt64, config: DataConfig, shape: ClipShape) throws -> Clips {
    var indices: [Int] = [], flips: [Bool] = []
    for row in rows {
        var random = SeededRandom(seed: seed, step: step, example: row)
        indices.append(Int(random.next() % UInt64(set.count)))
        flips.append(config.flip && random.next() & 1 == 1)
    }
    let clips = try set.clips(indices, channels: shape.channels, size: shape.size, pad: config.pad, flips: config.flip ? flips : nil)
    return Clips(clips: clips, labels: try labelTensor(set.labels, indices))
}
