// The generator file (generator.safetensors): a generative network's weights with its config, the
// tokenizer it was trained on and what its recipe records, read back into the network of its objective.
import Foundation
import NN
import Tokenizer
import Torch

/// A trained generator file (generator.safetensors) with the tokenizer it was trained on.
public struct GeneratorCheckpoint {
    /// The generator of the file's objective.
    public let network: any GenerativeNetwork
    public let tokenizer: VideoTokenizer
    public let metadata: [String: String]

    /// The side the training pictures were padded from (the source's `paddedFrom`): samples are
    /// cropped back to it for display and FID. Files saved before the side was recorded ("crop")
    /// were padded from (Fashion-)MNIST's 28 when they say so.
    public var crop: Int? {
        get throws {
            if let side = metadata["crop"] {
                guard let n = Int(side), n > 0 else { throw GeneratorError("the generator's crop '\(side)' is not a side in pixels") }
                return n
            }
            return (metadata["data"] == "fashion-mnist" || metadata["data"] == "mnist") && metadata["pad"] == "true" ? 28 : nil
        }
    }

    /// The masked transformer (the codec's prior, frame prediction) of a generator file.
    public var model: MaskedTransformer {
        get throws {
            guard let masked = network as? MaskedTransformer else { throw GeneratorError("this generator's objective is \(network.config.objective.rawValue); this needs a masked one") }
            return masked
        }
    }

    /// The masked transformer of a generator file and the file's metadata, without its tokenizer.
    public static func model(_ url: URL, device: Device = .cpu) throws -> (model: MaskedTransformer, metadata: [String: String]) {
        let (network, metadata) = try Self.network(url, device: device)
        guard let masked = network as? MaskedTransformer else {
            throw GeneratorError("\(url.path) is a generator of objective \(network.config.objective.rawValue); this needs objective masked")
        }
        return (masked, metadata)
    }

    /// The generator of a file (of its objective) and the file's metadata, without its tokenizer.
    public static func network(_ url: URL, device: Device = .cpu) throws -> (network: any GenerativeNetwork, metadata: [String: String]) {
        guard FileManager.default.fileExists(atPath: url.path) else { throw GeneratorError("\(url.path): no such generator checkpoint") }
        let file = try SafeTensors.read(url)
        guard file.metadata["magvit.format"] == format, let json = file.metadata["generator_config"] else {
            throw GeneratorError("\(url.path) is not a Magvit generator (train one with `magvit train-generator`)")
        }
        let config: GeneratorConfig
        do { config = try GeneratorConfig.saved(json) } catch {
            throw GeneratorError("\(url.path): its generator_config is not valid: \(error)")
        }
        let network = try GenerativeNetworks.make(config, device: device)
        try network.store.load(file.tensors)
        return (network, file.metadata)
    }

    public init(_ url: URL, tokenizer tokenizerPath: String? = nil, device: Device = .cpu) throws {
        let (network, metadata) = try Self.network(url, device: device)
        guard let path = tokenizerPath ?? metadata["tokenizer"] else { throw GeneratorError("\(url.path) names no tokenizer; pass --tokenizer") }
        guard FileManager.default.fileExists(atPath: path) else {
            throw GeneratorError("the tokenizer \(path) of \(url.lastPathComponent) is missing; pass --tokenizer with the same weights")
        }
        let tokenizer = try VideoTokenizer.load(from: URL(fileURLWithPath: path), device: device)
        if let expected = metadata["tokenizer_hash"], try tokenizer.weightsHash() != expected {
            throw GeneratorError("\(path) is not the tokenizer \(url.lastPathComponent) was trained on (weights hash differs)")
        }
        self.network = network
        self.tokenizer = tokenizer
        self.metadata = metadata
    }

    // MARK: Writing

    public static let format = "generator-v1"

    /// Writes a generator file: `network`'s weights (floating ones as `dtype`) with its config and
    /// `metadata` (what the recipe records: the tokenizer and its hash, the data, the crop).
    public static func save(_ network: any GenerativeNetwork, metadata: [String: String], dtype: DType = .float32, to url: URL) throws {
        var metadata = metadata
        metadata["magvit.format"] = format
        metadata["generator_config"] = try network.config.json()
        var weights = try network.store.snapshot()
        for (name, t) in weights where t.dtype.isFloatingPoint { weights[name] = try t.to(dtype) }
        try SafeTensors.write(weights, metadata: metadata, to: url)
    }
}
