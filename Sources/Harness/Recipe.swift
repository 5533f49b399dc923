// Training recipes by name, as mlx-swift-lm registers model types: a recipe is a trainer class
// with its config type, registered once (`Recipes.register`); `magvit train RECIPE CONFIG` and
// `magvit launch` find it here. Every recipe's config is read by one path (`RecipeConfig.parse`):
// the file's settings over the recipe's defaults, a key the recipe does not honour refused with the
// recipe's name, then what it derives (from the tokenizer it names) and its checks. Every recipe's
// run is set up the same way (`RunSetup`) and trained by the Harness.
import Foundation
import NN
import Torch

/// A training recipe's config: the sections it honours, read by `parse`.
public protocol RecipeConfig: Codable, Sendable {
    /// The recipe's name, in messages and on the command line ("tokenizer", "generator", ...).
    static var recipe: String { get }
    /// Settings that name files or folders, resolved against the config file's folder.
    static var pathKeys: [String] { get }
    /// Values of those settings that are words, not paths (`data.labels: none`).
    static var pathWords: Set<String> { get }
    /// Settings of shared sections that this recipe does not honour, with what to do instead: given
    /// in a file, they are refused rather than ignored.
    static var unhonoured: [String: String] { get }
    /// The defaults a file's settings override; takes out of `overrides` any setting that picks them
    /// (the tokenizer's `model.preset`).
    static func defaults(taking overrides: inout [String: Any]) throws -> Self
    /// Fills in the settings derived from others (the tokenizer's grid and bits), given the file's
    /// own settings (`overrides`), before `validate`.
    mutating func derive(given overrides: [String: Any]) throws
    /// Checks the file's own settings (`overrides`) against what the run will read, given the
    /// `defaults` they were laid over (a setting no part of the run reads is refused, not ignored).
    func checkGiven(_ overrides: [String: Any], defaults: Self) throws
    /// Checks the settings against each other.
    func validate() throws
    var run: RunConfig { get set }
    var optimizer: OptimizerConfig { get }
    /// Batches the background producer makes ahead of the model.
    var prefetch: Int { get }
}

extension RecipeConfig {
    public static var pathWords: Set<String> { [] }
    public static var unhonoured: [String: String] { [:] }
    public mutating func derive(given overrides: [String: Any]) throws {}
    public func checkGiven(_ overrides: [String: Any], defaults: Self) throws {}

    /// Reads a config file over the recipe's defaults; `assignments` (key.path=value) override the
    /// file. Relative paths in the file are relative to its folder (`ShippedResources.resolve`).
    public static func load(_ url: URL, assignments: [String] = []) throws -> Self {
        try parse(ConfigFile.text(of: url), name: url.lastPathComponent, assignments: assignments, folder: url.deletingLastPathComponent())
    }

    /// `folder`: the config file's, against which its relative paths are resolved (nil: kept as
    /// given). Errors in the settings start with `name`.
    public static func parse(_ text: String, name: String = "config.yaml", assignments: [String] = [], folder: URL? = nil) throws -> Self {
        var overrides = try ConfigFile.overrides(text, name: name, assignments: assignments, folder: folder, pathKeys: pathKeys, keeping: pathWords)
        do {
            for (key, instead) in unhonoured.sorted(by: { $0.key < $1.key }) where ConfigFile.value(at: key, in: overrides) != nil {
                throw ConfigError("'\(key)' is not a setting of the \(recipe) recipe: \(instead)")
            }
            let defaults = try defaults(taking: &overrides)
            var config = try ConfigFile.decode(Self.self, overrides: overrides, defaults: defaults, owner: recipe)
            try config.checkGiven(overrides, defaults: defaults)
            try config.derive(given: overrides)
            try config.validate()
            return config
        } catch let error as ConfigError {
            throw ConfigError("\(name): \(error.message)")
        }
    }

    /// The config as a run saved it (config.json, a model's `training_config`), read over the
    /// defaults without deriving or checking it again (the files it names may have moved since).
    /// Settings the recipe does not honour, which files written before they were refused still
    /// list, are dropped.
    public static func saved(_ json: String, name: String) throws -> Self {
        var overrides = try ConfigFile.parse(json, name: name)
        for key in unhonoured.keys { overrides = ConfigFile.removing(key, from: overrides) }
        do {
            let defaults = try defaults(taking: &overrides)
            return try ConfigFile.decode(Self.self, overrides: overrides, defaults: defaults, owner: recipe)
        } catch let error as ConfigError {
            throw ConfigError("\(name): \(error.message)")
        }
    }

    /// The config as pretty JSON with sorted keys (config.json, kept in checkpoints and models),
    /// without the shared settings the recipe does not honour.
    public func json() throws -> String {
        guard !Self.unhonoured.isEmpty else { return try ConfigFile.json(self, pretty: true) }
        var tree = try JSONSerialization.jsonObject(with: JSONEncoder().encode(self)) as? [String: Any] ?? [:]
        for key in Self.unhonoured.keys { tree = ConfigFile.removing(key, from: tree) }
        return String(decoding: try JSONSerialization.data(withJSONObject: tree, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self)
    }
}

/// What every recipe sets up the same way before its model: the run folder (created when the run
/// starts), the device and CPU threads of `run`, and the torch seed its model is drawn with.
public struct RunSetup {
    public let folder: RunFolder
    public let device: Device
    public let resume: Bool
    /// The data-parallel group (nil: one process).
    public let parallel: DataParallel?
    public let echo: (String) -> Void
    let seed: UInt64

    /// A folder that already holds a checkpoint is continued with `resume` and refused without it.
    public init(directory: URL, run: RunConfig, resume: Bool, parallel: DataParallel?, echo: @escaping (String) -> Void) throws {
        folder = try RunFolder(directory, resume: resume)
        try run.device.checkAvailable()
        device = run.device.device
        if run.threads > 0 { Torch.threads = run.threads }
        (self.resume, self.parallel, self.echo, seed) = (resume, parallel, echo, run.seed)
    }

    /// Builds the model from torch's generator seeded with `run.seed`: its initial weights are a
    /// function of the seed.
    public func seeded<Model>(_ build: () throws -> Model) throws -> Model {
        Torch.manualSeed(seed)
        return try build()
    }
}

/// A training recipe: a trainer made from its config, trained by the Harness.
public protocol Recipe: Trainer {
    associatedtype Config: RecipeConfig
    /// One line on what the recipe trains (`magvit train --help`).
    static var abstract: String { get }
    var config: Config { get }
    var setup: RunSetup { get }
    /// The recipe's part of setting up a run: its model, data and optimizer, on the Harness's `setup`
    /// (folder, device, threads, seed, data-parallel group). Nothing is written until it starts.
    init(config: Config, setup: RunSetup) throws
}

extension Recipe {
    /// Sets up a run in `directory`: the Harness's setup (`RunSetup`), then the recipe's. A folder that
    /// already holds a checkpoint is continued with `resume` and refused without it.
    public init(config: Config, directory: URL, resume: Bool, parallel: DataParallel? = nil,
                echo: @escaping (String) -> Void = { print($0) }) throws {
        try self.init(config: config, setup: RunSetup(directory: directory, run: config.run, resume: resume, parallel: parallel, echo: echo))
    }

    /// The recipe's name (its config's).
    public static var name: String { Config.recipe }

    /// The run folder.
    public var folder: RunFolder { setup.folder }

    /// The device the run trains on (`run.device`).
    public var device: Device { setup.device }

    /// The data-parallel group (nil: one process).
    public var parallel: DataParallel? { setup.parallel }

    /// The Harness that trains this run: its folder, config and settings.
    public func harness() throws -> Harness<Self> {
        Harness(trainer: self, folder: setup.folder, resume: setup.resume, run: config.run, optimizer: config.optimizer,
                config: try config.json(), prefetch: config.prefetch, echo: setup.echo)
    }
}

/// The registry of recipes by name.
public enum Recipes {
    /// A recipe with its types erased: what `magvit train` needs of it.
    public struct Entry {
        public let name: String
        public let abstract: String
        /// Reads the config file (with `assignments` over it), joins the data-parallel group `join`
        /// finds (it may set the run's device to the rank's), and trains into `output`.
        public let train: (_ config: URL, _ assignments: [String], _ output: URL, _ resume: Bool,
                                     _ join: (inout RunConfig) throws -> DataParallel?, _ echo: @escaping (String) -> Void) throws -> Void
    }

    /// Adds (or replaces) a recipe under its name.
    public static func register<R: Recipe>(_ recipe: R.Type) {
        let entry = Entry(name: R.name, abstract: R.abstract) { url, assignments, output, resume, join, echo in
            var config = try R.Config.load(url, assignments: assignments)
            let parallel = try join(&config.run)
            let trainer = try R(config: config, directory: output, resume: resume, parallel: parallel, echo: echo)
            try trainer.harness().train()
        }
        registry.withLock { $0[R.name] = entry }
    }

    /// The registered names, sorted.
    public static var names: [String] { registry.withLock { $0.keys.sorted() } }

    /// The recipe registered as `name`, or an error listing the known ones.
    public static func named(_ name: String) throws -> Entry {
        guard let entry = registry.withLock({ $0[name] }) else {
            throw ConfigError("unknown recipe '\(name)'; recipes: \(names.joined(separator: ", "))")
        }
        return entry
    }

    private static let registry = Locked<[String: Entry]>([:])
}

/// A value behind a lock (the registries, written at startup and read by any thread).
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
