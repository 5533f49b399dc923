// The `data` section every recipe shares: which clip or token source a run reads (`DataSources`,
// `kind`), its files, and how clips are cut from them.
import Foundation
import Harness

/// Where training images or clips come from (see `DataSources` for the kinds).
public struct DataConfig: Codable, Sendable {
    public var kind: DataKind = .fashionMNIST
    /// Files or folders of the training set; empty picks the default location of `kind`.
    public var train: [String] = []
    /// Held-out files or folders; empty picks the test split (image sets) or nothing.
    public var eval: [String] = []
    /// Images are padded (centred, with the background value) to the model's resolution.
    public var pad: Bool = true
    /// Random horizontal flips.
    public var flip: Bool = false
    /// Temporal strides to draw from (videos).
    public var frameStrides: [Int] = [1, 2]
    /// Crop sides as multiples of the model resolution, drawn uniformly, then resized (videos).
    public var cropScale: [Double] = [1, 2]
    /// Held-out samples scored at each evaluation, the final one too unless `evalWholeSet`.
    public var evalSamples: Int = 1000
    /// Score the whole held-out set at the end of the run (a test split can be 10,000 images).
    public var evalWholeSet: Bool = false
    /// Digits per moving-digits clip.
    public var digits: Int = 2
    /// Side of the moving digits in pixels (0: the glyphs' own, 28 for MNIST); must divide it.
    public var digitSize: Int = 0
    /// Batches prepared ahead of the model by the background producer.
    public var prefetch: Int = 4
    /// The token dataset folder (`magvit tokenize`) of the generator's kind `tokens`.
    public var path: String = ""
    /// A file the generator keeps its training set's encoding in, shared by runs on the same
    /// tokenizer and data (used when it holds that encoding, written otherwise); empty: the run folder.
    public var tokenCache: String = ""
    /// Class labels of videos tokenized for the generator: none, folders, or a CSV of path,label rows.
    public var labels: String = "none"
    /// The parts of kind `mixture`: each a kind, its files and a weight.
    public var sources: [MixturePart] = []
    /// The virtual camera of kind `photo-pans`.
    public var pan = PanConfig()
    /// Still images trained beside the clips in every step (the joint image-video vocabulary of
    /// MAGVIT-v2): `imageBatch` 1-frame clips a step, drawn by weight from these parts (image sets,
    /// or single frames of videos and photo-pans). 0 turns them off.
    public var imageBatch: Int = 0
    public var images: [MixturePart] = []

    public init() {}

    /// The settings under `data` that name files or folders (config files resolve them).
    public static let pathKeys = ["train", "eval", "path", "tokenCache", "labels", "sources[].train", "sources[].eval", "images[].train", "images[].eval"]
        .map { "data." + $0 }
    /// The values of `labels` that are not a CSV file.
    public static let labelWords: Set<String> = ["none", "folders"]

    /// `train` for a source that has no default location: refused when empty, saying what it must
    /// name (`what`).
    public func trainPaths(naming what: String) throws -> [String] {
        guard !train.isEmpty else { throw ConfigError("data.train must name \(what)") }
        return train
    }
}
