// Token data by `data.kind`, beside the clip sources (`DataSources`): the kinds a recipe that models or
// reads tokens takes as a token dataset — `tokens`, one made by `magvit tokenize` (`data.path`), and
// `videos`, the videos of `data.train` tokenized into the run folder (resumed and reused like any
// dataset) — in one registry: the generator reads every kind registered (a new kind is one
// registration, `TokenSources.register`), the classifier the datasets of `tokens`.
import Foundation
import Harness
import Tokenizer
import Torch

/// What a token source needs to make its dataset: the tokenizer, the run folder a dataset made from
/// pixels goes into, the device that tokenizes, and the run's log for progress.
public struct TokenizingRun {
    public let tokenizer: RunTokenizer
    public let folder: URL
    public let device: Device
    public let log: RunLog

    public init(tokenizer: RunTokenizer, folder: URL, device: Device, log: RunLog) {
        (self.tokenizer, self.folder, self.device, self.log) = (tokenizer, folder, device, log)
    }
}

/// The registry of token sources by kind.
public enum TokenSources {
    /// A kind's class names (its clips' labels in id order; empty: unlabelled), read from the config
    /// alone, its training set as a token dataset, and the settings of the data section that only
    /// some kinds read (`DataSources.sourceSettings`) which it reads.
    public struct Entry: Sendable {
        public let classNames: @Sendable (DataConfig) throws -> [String]
        public let dataset: @Sendable (DataConfig, TokenizingRun) throws -> TokenDataset
        public let settings: Set<String>

        public init(settings: Set<String> = [], classNames: @escaping @Sendable (DataConfig) throws -> [String],
                    dataset: @escaping @Sendable (DataConfig, TokenizingRun) throws -> TokenDataset) {
            (self.settings, self.classNames, self.dataset) = (settings, classNames, dataset)
        }
    }

    private static let registry = Registry<DataKind, Entry>([
        .tokens: Entry(settings: ["path"], classNames: { try open($0.path, setting: "data.path").index.classes },
                       dataset: { data, _ in try open(data.path, setting: "data.path") }),
        .videos: Entry(settings: ["labels"], classNames: { try inputs($0).classes }, dataset: tokenized),
    ])

    /// The data settings each token source reads (`DataSources.checkSettings`'s `recipeKinds`).
    public static var settings: [DataKind: Set<String>] { registry.all.mapValues(\.settings) }

    /// Adds (or replaces) the token source of a kind.
    public static func register(_ kind: DataKind, _ entry: Entry) { registry.set(kind, entry) }

    /// Whether `kind` is a token source's.
    public static func holds(_ kind: DataKind) -> Bool { registry.entry(kind) != nil }

    /// Every token source's kind.
    public static var kinds: [DataKind] { registry.all.keys.sorted { $0.rawValue < $1.rawValue } }

    public static func classNames(_ data: DataConfig) throws -> [String] { try entry(data.kind).classNames(data) }

    /// The training set of `data` as a token dataset (made first where the kind tokenizes pixels).
    public static func dataset(_ data: DataConfig, _ run: TokenizingRun) throws -> TokenDataset { try entry(data.kind).dataset(data, run) }

    static func entry(_ kind: DataKind) throws -> Entry {
        guard let entry = registry.entry(kind) else {
            throw ConfigError("data.kind \(kind) is not a token source; token sources: \(kinds.map(\.rawValue).joined(separator: ", "))")
        }
        return entry
    }

    /// The token dataset folder at `path`, named in messages as `setting` (data.path, data.eval).
    public static func open(_ path: String, setting: String) throws -> TokenDataset {
        guard !path.isEmpty else { throw ConfigError("\(setting) must name a token dataset folder (made by `magvit tokenize`)") }
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError("\(setting): \(path): no such folder (\(ShippedResources.lookupRule); make a token dataset with `magvit tokenize INPUTS -o FOLDER`)")
        }
        do { return try TokenDataset(URL(fileURLWithPath: path)) } catch let e as DatasetError { throw ConfigError("\(setting): \(e.description)") }
    }

    /// The videos of `data.train` with their labels (`data.labels`).
    public static func inputs(_ data: DataConfig) throws -> InputList {
        let paths = try data.trainPaths(naming: "the videos (files, folders, patterns or a .txt list)")
        do { return try InputList.expand(paths, labels: LabelSource(data.labels)) } catch let e as DatasetError {
            throw ConfigError("data.train: \(e.description)")
        }
    }

    /// The videos of `data.train` tokenized into the run folder's `tokens/` (a finished one reused).
    static func tokenized(_ data: DataConfig, _ run: TokenizingRun) throws -> TokenDataset {
        var options = TokenizeOptions()
        options.device = run.device
        let output = run.folder.appendingPathComponent("tokens")
        let job = try Tokenization(model: run.tokenizer.model, weights: run.tokenizer.hash, inputs: inputs(data), labels: LabelSource(data.labels), output: output, options: options)
        let index = try job.run { p in run.log.progress(step: p.filesDone, of: p.files, stepsPerSecond: p.clipsPerSecond, loss: nil) }
        run.log.say("tokenized \(index.clips) clips from \(index.files - index.failures.count) of \(index.files) videos into \(output.path)")
        for f in index.failures { run.log.say("skipped \(f.error)") }
        return try TokenDataset(output)
    }
}
