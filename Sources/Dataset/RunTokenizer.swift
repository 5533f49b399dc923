// The trained tokenizer a recipe that reads tokens names in its config, loaded for its run.
import Foundation
import Harness
import Tokenizer

/// The tokenizer file a config names (`tokenizer`), loaded once on the run's device with its weights
/// hash, computed once for everything that names the tokenizer by it (the generator's run identity,
/// token caches and datasets, the saved model's metadata).
public struct RunTokenizer {
    public let model: VideoTokenizer
    public let path: String
    public let hash: String

    public init(_ path: String, setup: RunSetup) throws {
        model = try VideoTokenizer.load(from: URL(fileURLWithPath: path), device: setup.device)
        (self.path, hash) = (path, try model.weightsHash())
    }

    /// What a model trained on these tokens records of its tokenizer: the file and its weights hash.
    public var metadata: [String: String] {
        ["tokenizer": URL(fileURLWithPath: path).standardizedFileURL.path, "tokenizer_hash": hash]
    }
}
