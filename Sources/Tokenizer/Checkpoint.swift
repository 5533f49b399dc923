// Tokenizer checkpoints: safetensors holding the weights plus the config as metadata, so a file
// alone rebuilds its model; and a hash of the weights that names a tokenizer in token files.
import Crypto
import Foundation
import NN
import Torch

extension VideoTokenizer {
    static let formatKey = "magvit.format"
    static let format = "tokenizer-v1"
    static let configKey = "magvit.config"

    /// Saves weights and config atomically; `dtype` stores floating-point weights in another precision
    /// (float16 halves the file; loading converts back to the model's dtype).
    public func save(to url: URL, metadata: [String: String] = [:], dtype: DType? = nil) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var meta = metadata
        meta[Self.formatKey] = Self.format
        meta[Self.configKey] = String(decoding: try encoder.encode(config), as: UTF8.self)
        var tensors = try store.snapshot()
        if let dtype {
            for (name, t) in tensors where t.dtype.isFloatingPoint { tensors[name] = try t.to(dtype) }
        }
        try SafeTensors.write(tensors, metadata: meta, to: url)
    }

    /// Rebuilds a tokenizer from a checkpoint written by `save`, strictly: a file whose tensors do
    /// not match its own config is refused.
    public static func load(from url: URL, device: Device = .cpu) throws -> VideoTokenizer {
        try load(SafeTensors.read(url), url: url, device: device)
    }

    /// `load(from:)` of a file already read.
    static func load(_ contents: SafeTensors.Contents, url: URL, device: Device = .cpu) throws -> VideoTokenizer {
        guard contents.metadata[formatKey] == format, let json = contents.metadata[configKey] else {
            throw TokenizerError.checkpoint("\(url.path) is not a Magvit tokenizer checkpoint (no \(configKey) metadata); Open-MAGVIT2 weights load with loadOpenMagvit2")
        }
        let config: TokenizerConfig
        do {
            config = try JSONDecoder().decode(TokenizerConfig.self, from: Data(json.utf8))
        } catch {
            throw TokenizerError.checkpoint("\(url.path): the config in its metadata cannot be read: \(error)")
        }
        // The model is built before its weights are compared, so a config that describes a model far
        // larger than the file is refused first: the widest level's 3×3 convolution from at least
        // baseChannels inputs is a lower bound on the model, and must fit among the file's values.
        do { try config.validate() } catch { throw TokenizerError.checkpoint("\(url.path): the config in its metadata is not valid: \(error)") }
        let values = contents.tensors.values.reduce(0.0) { $0 + $1.shape.reduce(1.0) { $0 * Double($1) } }
        let widest = Double(config.baseChannels) * Double(config.channelMultipliers.max() ?? 1)
        guard widest * Double(config.baseChannels) * 9 <= values else {
            throw TokenizerError.checkpoint("\(url.path): the config in its metadata describes a model with \(Int(widest))-channel layers, larger than the \(Int(values)) values the file holds")
        }
        let model = try VideoTokenizer(config: config, device: device)
        do {
            try model.store.load(contents.tensors)
        } catch {
            throw TokenizerError.checkpoint("\(url.path): \(error)")
        }
        return model
    }

    /// Takes the weights of the tokenizer file at `url`, which must be of this model's config or its
    /// image version (then inflated, `inflateImageModel`): a warm start, the weights moving to this model's
    /// device and dtype; returns the file's metadata.
    @discardableResult
    public func startFrom(_ url: URL) throws -> [String: String] {
        let contents = try SafeTensors.read(url)
        let start = try VideoTokenizer.load(contents, url: url)
        if config.hasImageVersion(start.config) {
            try inflateImageModel(start)
            return contents.metadata
        }
        guard config.hasNetwork(of: start.config) else {
            let image = start.config.temporalKernel == 1 && config.temporalKernel > 1  // meant as its image version
            let differences = (image ? config.imageVersion : config).networkDifferences(from: start.config).joined(separator: ", ")
            throw TokenizerError.checkpoint("\(url.path) is a tokenizer of another network than this run's model (the file's vs the run's: \(differences))")
        }
        try store.load(start.store.snapshot())
        return contents.metadata
    }

    /// SHA-256 of the weights (`ParameterStore.weightsHash`). Two tokenizers with the same hash
    /// produce the same tokens.
    public func weightsHash() throws -> String { try store.weightsHash() }
}

extension ParameterStore {
    /// SHA-256 over every tensor's name, dtype, shape and bytes in name order (hex): the identity of a
    /// model's weights that token files and compressed streams record.
    public func weightsHash() throws -> String {
        var hasher = SHA256()
        for (name, tensor) in tensors.sorted(by: { $0.name < $1.name }) {
            hasher.update(data: Data("\(name)|\(tensor.dtype)|\(tensor.shape)|".utf8))
            hasher.update(data: try tensor.bytes())
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
