// The video classifier: a pre-norm transformer (the generator's blocks) over one clip's grid with a
// class token and a linear head (ViViT's spatio-temporal model, Arnab et al. 2021). Each position's
// input is its token's LFQ bits projected, or its sub-token embeddings summed (names and shapes of
// the masked token model's, so a generator's weights can initialise it: BEVT-style pre-training),
// or a pixel tubelet projected; plus factorized frame + row + column embeddings. The features input
// is a linear probe on frozen I3D features instead (a layer norm, then the head).
import Foundation
import NN
import Torch

public final class VideoClassifier {
    public let config: ClassifierConfig
    public let store: ParameterStore
    let bitProjection: Linear?
    let tokenEmbeddings: [Embedding]
    let patchProjection: Linear?
    let framePosition: Embedding?, rowPosition: Embedding?, columnPosition: Embedding?
    let classToken: Tensor?
    let blocks: [TransformerBlock]
    let finalNorm: LayerNorm
    let head: Linear

    public init(config: ClassifierConfig, device: Device = .cpu) throws {
        try config.validate()
        self.config = config
        store = ParameterStore(device: device)
        let root = store.root, d = config.width
        let small = Initializer.normal(mean: 0, std: 0.02)
        let sequence = config.input != .features
        bitProjection = config.input == .bits ? try Linear(root("bit_projection"), inputFeatures: config.vocabularyBits, outputFeatures: d) : nil
        tokenEmbeddings = config.input == .factors ? try config.factorBits.enumerated().map { i, bits in
            try Embedding(root("token_embedding")(i), count: (1 << bits) + 1, dimensions: d, initializer: small)  // last id: the generator's mask
        } : []
        let t = config.tubelet
        patchProjection = config.input == .pixels
            ? try Linear(root("patch_projection"), inputFeatures: config.channels * t[0] * t[1] * t[2], outputFeatures: d) : nil
        if sequence {
            framePosition = try Embedding(root("position")("frame"), count: config.grid[0], dimensions: d, initializer: small)
            rowPosition = try Embedding(root("position")("row"), count: config.grid[1], dimensions: d, initializer: small)
            columnPosition = try Embedding(root("position")("column"), count: config.grid[2], dimensions: d, initializer: small)
            classToken = try root.parameter("class_token", shape: [1, 1, d], initializer: small)
            blocks = try (0..<config.depth).map { try TransformerBlock(root("blocks")($0), width: d, heads: config.heads, mlpRatio: config.mlpRatio) }
        } else {
            (framePosition, rowPosition, columnPosition, classToken, blocks) = (nil, nil, nil, nil, [])
        }
        finalNorm = try LayerNorm(root("final_norm"), dimensions: sequence ? d : config.featureDimensions)
        head = try Linear(root("head"), inputFeatures: sequence ? d : config.featureDimensions, outputFeatures: config.classes)
    }

    public var device: Device { store.device }
    public var parameterCount: Int { store.parameterCount }

    /// Class logits (B, classes) of a batch of inputs: token ids (B, L) for bits and factors, clips
    /// (B, C, T, S, S) in [-1, 1] for pixels, features (B, F) for features.
    public func logits(_ input: Tensor, training: Bool = false) throws -> Tensor {
        if config.input == .features {
            guard input.rank == 2, input.size(1) == config.featureDimensions else {
                throw ClassifierError("expected features (B, \(config.featureDimensions)), got \(input.shape)")
            }
            return try head(finalNorm(input.to(.float32, device)))
        }
        var x = try embed(input)
        let b = x.size(0), d = config.width
        x = try concatenate([classToken!.expand([b, 1, d]), x + positions()], dim: 1)
        let p = training ? config.dropout : 0
        x = try dropout(x, p: p, training: training)
        for block in blocks { x = try block(x, dropout: p, training: training) }
        return try head(finalNorm(x.narrow(1, start: 0, length: 1).squeeze(1)))
    }

    /// (B, L, D): each grid position's input.
    func embed(_ input: Tensor) throws -> Tensor {
        let l = config.tokensPerClip
        switch config.input {
        case .bits, .factors:
            guard input.rank == 2, input.size(1) == l else { throw ClassifierError("expected token ids (B, \(l)), got \(input.shape)") }
            let ids = try input.to(.int64, device)
            if let bitProjection {
                let bits = try stacked((0..<config.vocabularyBits).map { try ids.shiftedRight($0).bitwiseAnd(1) }, dim: 2)
                return try bitProjection(bits.to(.float32) * 2.0 - 1.0)
            }
            var offset = 0, x: Tensor?
            for (embedding, bits) in zip(tokenEmbeddings, config.factorBits) {
                let e = try embedding(ids.shiftedRight(offset).bitwiseAnd((1 << bits) - 1))
                x = try x.map { try $0 + e } ?? e
                offset += bits
            }
            return x!
        case .pixels:
            return try patchProjection!(tubelets(input))
        case .features:
            throw ClassifierError("features have no grid")
        }
    }

    /// (B, L, C·tf·th·tw): the clip cut into tubelets on the grid, frames outermost; the first frame
    /// is repeated in front so that it fills the first latent frame's tubelet alone.
    public func tubelets(_ clips: Tensor) throws -> Tensor {
        let c = config, (t, h, w) = (c.grid[0], c.grid[1], c.grid[2]), tf = c.tubelet
        guard clips.rank == 5, clips.size(1) == c.channels, clips.size(2) == c.clipFrames, clips.size(3) == c.resolution, clips.size(4) == c.resolution else {
            throw ClassifierError("expected clips (B, \(c.channels), \(c.clipFrames), \(c.resolution), \(c.resolution)), got \(clips.shape)")
        }
        var x = try clips.to(.float32, device)
        let b = x.size(0)
        if tf[0] > 1 {
            let first = try x.narrow(2, start: 0, length: 1).expand([b, c.channels, tf[0] - 1, c.resolution, c.resolution])
            x = try concatenate([first, x], dim: 2)
        }
        x = try x.reshape([b, c.channels, t, tf[0], h, tf[1], w, tf[2]]).permute([0, 2, 4, 6, 1, 3, 5, 7])
        return try x.reshape([b, t * h * w, c.channels * tf[0] * tf[1] * tf[2]])
    }

    /// (1, L, D): frame + row + column embeddings of each grid position, frames outermost.
    func positions() throws -> Tensor {
        let (t, h, w, d) = (config.grid[0], config.grid[1], config.grid[2], config.width)
        let frames = try framePosition!.weight.reshape([t, 1, 1, d])
        let rows = try rowPosition!.weight.reshape([1, h, 1, d])
        let columns = try columnPosition!.weight.reshape([1, 1, w, d])
        return try (frames + rows + columns).reshape([1, t * h * w, d])
    }

    /// Copies the masked token model's weights of the same names and shapes (sub-token embeddings,
    /// positions, blocks) from a generator checkpoint; returns how many tensors were copied. Fails
    /// when the blocks do not all match (another width, depth or grid).
    public func initialize(fromGenerator url: URL) throws -> Int {
        let file = try SafeTensors.read(url)
        guard file.metadata["magvit.format"] == "generator-v1" else {
            throw ClassifierError("\(url.path) is not a generator checkpoint (magvit.format generator-v1)")
        }
        let own = Dictionary(uniqueKeysWithValues: store.tensors.map { ($0.name, $0.tensor) })
        let shared = file.tensors.filter { name, t in own[name]?.shape == t.shape }
        let blockNames = own.keys.filter { $0.hasPrefix("blocks.") }
        let missing = blockNames.filter { shared[$0] == nil }
        guard !blockNames.isEmpty, missing.isEmpty else {
            throw ClassifierError("\(url.path): the generator's transformer does not match the classifier's (width \(config.width), depth \(config.depth), heads \(config.heads)): \(missing.count) of its block tensors are missing or of another shape")
        }
        var current = try store.snapshot()
        current.merge(shared) { _, new in new }
        try store.load(current)
        return shared.count
    }

    // MARK: Checkpoints

    public static let format = "classifier-v1"

    /// Saves the weights with the config, the class names and `metadata`.
    public func save(to url: URL, classNames: [String], metadata extra: [String: String] = [:], dtype: DType = .float32) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var metadata = ["magvit.format": Self.format, "classifier_config": String(decoding: try encoder.encode(config), as: UTF8.self),
                        "class_names": String(decoding: try JSONEncoder().encode(classNames), as: UTF8.self)]
        metadata.merge(extra) { a, _ in a }
        var weights = try store.snapshot()
        for (name, t) in weights where t.dtype.isFloatingPoint { weights[name] = try t.to(dtype) }
        try SafeTensors.write(weights, metadata: metadata, to: url)
    }

    /// A saved classifier, its class names and metadata.
    public static func load(from url: URL, device: Device = .cpu) throws -> (model: VideoClassifier, classNames: [String], metadata: [String: String]) {
        let file = try SafeTensors.read(url)
        guard file.metadata["magvit.format"] == format, let json = file.metadata["classifier_config"], let names = file.metadata["class_names"] else {
            throw ClassifierError("\(url.path) is not a classifier checkpoint (magvit.format \(format), made by `magvit train-classifier`)")
        }
        let config: ClassifierConfig, classNames: [String]
        do {
            config = try JSONDecoder().decode(ClassifierConfig.self, from: Data(json.utf8))
            classNames = try JSONDecoder().decode([String].self, from: Data(names.utf8))
        } catch { throw ClassifierError("\(url.path): unreadable classifier config or class names in the metadata") }
        try config.validate()
        guard classNames.count == config.classes else {
            throw ClassifierError("\(url.path): \(classNames.count) class names for \(config.classes) classes")
        }
        let model = try VideoClassifier(config: config, device: device)
        do { try model.store.load(file.tensors.mapValues { try $0.to(.float32) }) } catch let e as ParameterError {
            throw ClassifierError("\(url.path): \(e.message)")
        }
        return (model, classNames, file.metadata)
    }
}
