// From generated token ids to pictures: decoding through the tokenizer, cropping the padding the
// image sets were trained with, and PNG grids and files.
import Foundation
import Harness
import Media
import NN
import Tokenizer
import Torch

public enum GeneratedImages {
    /// Frames (B, C, T, H, W) in [-1, 1] of token ids (B, L) on a (t, h, w) grid.
    public static func decode(_ ids: Tensor, grid: [Int], tokenizer: VideoTokenizer, batch: Int = 256) throws -> Tensor {
        var parts: [Tensor] = []
        for first in stride(from: 0, to: ids.size(0), by: batch) {
            let n = Swift.min(batch, ids.size(0) - first)
            let chunk = try ids.narrow(0, start: first, length: n).reshape([n, grid[0], grid[1], grid[2]])
            parts.append(try tokenizer.decode(chunk).to(.float32, .cpu).clamp(min: -1, max: 1))
        }
        return try concatenate(parts, dim: 0)
    }

    /// (B, C, T, H, W) in [-1, 1] as (B·T, H, W, 3) in [0, 1], the centre `crop`×`crop` when given.
    public static func pictures(_ frames: Tensor, crop: Int? = nil) throws -> Tensor {
        let (b, c, t, h, w) = (frames.size(0), frames.size(1), frames.size(2), frames.size(3), frames.size(4))
        var x = try frames.permute([0, 2, 3, 4, 1]).reshape([b * t, h, w, c])
        if let crop, crop < h, crop < w {
            x = try x.narrow(1, start: (h - crop) / 2, length: crop).narrow(2, start: (w - crop) / 2, length: crop)
        }
        if c == 1 { x = try x.expand([x.size(0), x.size(1), x.size(2), 3]) }
        return try ((x + 1.0) / 2.0).contiguous()
    }

    /// One PNG of the frames (B, C, T, H, W) in [-1, 1]: `columns` per row, a 1-pixel white border each.
    public static func writeGrid(_ frames: Tensor, columns: Int, crop: Int? = nil, to url: URL) throws {
        let grid = try grid(frames, columns: columns, crop: crop)
        let writer = try VideoWriter(path: url.path, width: grid.size(1), height: grid.size(0))
        try writer.write(grid.unsqueeze(0))
        try writer.finish()
    }

    /// The frames (B, C, T, H, W) in [-1, 1] as one picture (H', W', 3) in [0, 1]: `columns` per row,
    /// a 1-pixel white border each.
    public static func grid(_ frames: Tensor, columns: Int, crop: Int? = nil) throws -> Tensor {
        let x = try pictures(frames, crop: crop)
        let (n, h, w) = (x.size(0), x.size(1), x.size(2))
        let rows = (n + columns - 1) / columns
        var lines: [Tensor] = []
        for r in 0..<rows {
            var tiles: [Tensor] = []
            for c in 0..<columns {
                let i = r * columns + c
                let tile = i < n ? try x.select(0, i) : try Tensor.ones([h, w, 3])
                tiles.append(try tile.pad([0, 0, 1, 1, 1, 1], value: 1))
            }
            lines.append(try concatenate(tiles, dim: 1))
        }
        return try concatenate(lines, dim: 0)
    }
}

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
        guard file.metadata["magvit.format"] == "generator-v1", let json = file.metadata["generator_config"] else {
            throw GeneratorError("\(url.path) is not a Magvit generator (train one with `magvit train-generator`)")
        }
        let config: GeneratorConfig
        // Over the defaults: files written before a setting existed (objective, latentChannels) take its default.
        do {
            let given = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
            config = try ConfigFile.decode(GeneratorConfig.self, overrides: given, defaults: GeneratorConfig())
        } catch {
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
}
