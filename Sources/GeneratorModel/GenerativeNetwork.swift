// The three generative objectives compared on one transformer backbone (MAGVIT-v2's title claim
// under a matched test): the masked token model (MaskGIT), an autoregressive token model over the
// raster order, and a latent diffusion transformer on the tokenizer's continuous latents. The
// trainer, the tool and the study see them through `GenerativeNetwork`.
import Foundation
import NN
import Tokenizer
import Torch

/// `generator.objective`: which generative model a generator config builds.
public enum GeneratorObjective: String, ConfigChoice {
    /// Bidirectional transformer filling in masked tokens, decoded in a few parallel steps (MaskGIT).
    case masked
    /// Causal transformer predicting the next token in raster order, decoded one token at a time.
    case autoregressive
    /// Transformer predicting the flow-matching velocity of the continuous latents, Euler-integrated.
    case diffusion
}

/// A training loss and the numbers logged beside it.
public struct ObjectiveLoss {
    public let loss: Tensor
    /// Logged beside the loss (e.g. "accuracy").
    public let values: [String: Double]
}

/// A generator the trainer can train and the tool can sample, whatever its objective.
public protocol GenerativeNetwork: AnyObject {
    var config: GeneratorConfig { get }
    var store: ParameterStore { get }
    /// What the network learns from for clips (B, C, T, H, W): token ids (B, L), or latents (B, L, C).
    func trainingExamples(_ clips: Tensor, tokenizer: VideoTokenizer) throws -> Tensor
    /// Sets what the network derives from the whole training set (diffusion: the latents' statistics).
    func fit(trainingSet: Tensor) throws
    /// The loss on a batch of training examples; `classes` (B) for a class-conditional model. With
    /// `parallel`, the random draws are made for the global batch and sliced (as `maskedLoss`).
    func trainingLoss(_ examples: Tensor, classes: Tensor?, codingMasks: CodingMasks, parallel: (any DataParallelRanks)?) throws -> ObjectiveLoss
    /// `count` samples (token ids (B, L) or latents (B, L, C)), seeded by `options.seed`.
    func generate(count: Int, classes: [Int]?, options: SamplingOptions) throws -> Tensor
    /// Frames (N, C, T, H, W) in [-1, 1] continuing clips (N, C, T, H, W) from their first
    /// `conditionFrames` latent frames (frame prediction), seeded by `options.seed`.
    func predictFrames(_ clips: Tensor, tokenizer: VideoTokenizer, options: SamplingOptions) throws -> Tensor
    /// Frames (B, C, T, H, W) in [-1, 1] of samples.
    func decode(_ samples: Tensor, tokenizer: VideoTokenizer) throws -> Tensor
    /// Transformer passes per sample (each conditional and unconditional pass counted).
    func networkEvaluations(_ options: SamplingOptions) -> Int
}

extension GenerativeNetwork {
    public var parameterCount: Int { store.parameterCount }
    public var device: Device { store.device }

    /// Token ids (B, L) of clips: what the token models learn from.
    public func tokenExamples(_ clips: Tensor, tokenizer: VideoTokenizer) throws -> Tensor {
        try tokenizer.encode(clips).reshape([clips.size(0), -1]).to(.int64)
    }

    func decodeTokens(_ ids: Tensor, tokenizer: VideoTokenizer) throws -> Tensor {
        try GenerativeNetworks.decodeTokens(ids, grid: config.grid, tokenizer: tokenizer)
    }

    /// Frame prediction of a token model: the clips' tokens, the first givenTokens of them given to
    /// `sample(count, given)`, the result decoded.
    func predictFromTokens(_ clips: Tensor, tokenizer: VideoTokenizer, sample: (Int, Tensor) throws -> Tensor) throws -> Tensor {
        let ids = try tokenExamples(clips.to(tokenizer.device), tokenizer: tokenizer)
        return try decodeTokens(sample(ids.size(0), ids.narrow(1, start: 0, length: config.givenTokens)), tokenizer: tokenizer)
    }

    /// Checks the given part of a frame-prediction model's samples, (count, givenTokens, ...), or that
    /// none is given to another model; returns it on the model's device.
    func givenPart(_ given: Tensor?, count: Int, trailing: [Int] = []) throws -> Tensor? {
        guard config.givenTokens > 0 else {
            guard given == nil else { throw GeneratorError("this model does not take given frames") }
            return nil
        }
        let shape = [count, config.givenTokens] + trailing
        guard let given, given.shape == shape else {
            throw GeneratorError("this model predicts frames: it needs the tokens of \(config.conditionFrames) latent frames, \(shape), got \(given?.shape.description ?? "none")")
        }
        return try given.to(device)
    }

    /// Passes per sampling step: two with guidance on a class-conditional model, else one.
    func passesPerStep(_ options: SamplingOptions) -> Int { config.classes > 0 && options.guidance != 0 ? 2 : 1 }

    /// The class ids (count) of a class-conditional model's samples, checked; nil for an unconditional one.
    func sampleClasses(_ classes: [Int]?, count: Int) throws -> Tensor? {
        if config.classes > 0 {
            guard let classes, classes.count == count, classes.allSatisfy({ (0..<config.classes).contains($0) }) else {
                throw GeneratorError("a class-conditional model needs \(count) class ids in 0..<\(config.classes)")
            }
            return try Tensor(classes.map(Int64.init), shape: [count], device: device)
        }
        guard classes == nil else { throw GeneratorError("this model is not class-conditional") }
        return nil
    }

    /// The classes of a training batch with each replaced by the null class (id `config.classes`) with
    /// probability conditionDropout (classifier-free guidance); the draw is the global batch's, sliced.
    func droppedClasses(_ classes: Tensor?, batch b: Int, parallel: (any DataParallelRanks)?) throws -> Tensor? {
        guard let classes, config.classes > 0 else { return nil }
        let drop = try globalDraw([b], parallel: parallel).lt(config.conditionDropout)
        return try which(drop, Tensor(scalar: Double(config.classes), dtype: .int64, device: device), classes.to(.int64, device))
    }

    /// Uniform [0, 1) values (b, ...) of this rank's slice of the global batch (the same draws as one
    /// process on the whole batch when the ranks are seeded alike).
    func globalDraw(_ shape: [Int], normal: Bool = false, parallel: (any DataParallelRanks)?) throws -> Tensor {
        let world = parallel?.worldSize ?? 1, first = (parallel?.rank ?? 0) * shape[0]
        let all = [shape[0] * world] + shape.dropFirst()
        let x = normal ? try Tensor.randn(all, device: device) : try Tensor.rand(all, device: device)
        return try x.narrow(0, start: first, length: shape[0])
    }
}

/// Logits (..., V) divided by the temperature, with all but the k largest set to −∞ (k = 0: all kept).
func samplingLogits(_ logits: Tensor, temperature: Double, topK: Int) throws -> Tensor {
    var l = try logits / temperature
    let v = l.size(-1)
    if topK > 0, topK < v {
        let kth = try l.topk(topK, dim: -1).values.narrow(l.rank - 1, start: topK - 1, length: 1)
        l = try l.maskedFill(l.lt(kth), -Double.infinity)
    }
    return l
}

public enum GenerativeNetworks {
    /// Frames (B, C, T, H, W) in [-1, 1] of token ids (B, L) on a (t, h, w) grid.
    public static func decodeTokens(_ ids: Tensor, grid: [Int], tokenizer: VideoTokenizer, batch: Int = 256) throws -> Tensor {
        var parts: [Tensor] = []
        for first in stride(from: 0, to: ids.size(0), by: batch) {
            let n = Swift.min(batch, ids.size(0) - first)
            let chunk = try ids.narrow(0, start: first, length: n).reshape([n, grid[0], grid[1], grid[2]])
            parts.append(try tokenizer.decode(chunk).to(.float32, .cpu).clamp(min: -1, max: 1))
        }
        return try concatenate(parts, dim: 0)
    }

    /// The network of a generator config's objective.
    public static func make(_ config: GeneratorConfig, device: Device = .cpu) throws -> any GenerativeNetwork {
        switch config.objective {
        case .masked: try MaskedTransformer(config: config, device: device)
        case .autoregressive: try AutoregressiveTransformer(config: config, device: device)
        case .diffusion: try LatentDiffusionTransformer(config: config, device: device)
        }
    }
}

extension GeneratorConfig {
    /// The checks that depend on the objective.
    func validateObjective() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw GeneratorError(message) } }
        if objective == .diffusion {
            try require(latentChannels >= 1, "the diffusion objective needs latentChannels (the tokenizer's latent channels), got \(latentChannels)")
        } else {
            try require(latentChannels == 0, "latentChannels is for objective diffusion; the \(objective.rawValue) objective models token ids: leave it out")
        }
    }
}

/// A generator over token ids (the masked and the autoregressive transformer): it learns from the
/// clips' tokens, decodes its samples through the tokenizer, and predicts frames from the given frames'
/// tokens. A conformer supplies its loss, its sampler and its count of passes.
public protocol TokenModel: GenerativeNetwork {
    /// Token ids (B, L) for `count` examples, with class ids for a class-conditional model and the
    /// given frames' tokens (B, givenTokens) for a frame-prediction model (the model's `sample`).
    func sampleTokens(count: Int, classes: [Int]?, given: Tensor?, options: SamplingOptions) throws -> Tensor
}

extension TokenModel {
    public func trainingExamples(_ clips: Tensor, tokenizer: VideoTokenizer) throws -> Tensor { try tokenExamples(clips, tokenizer: tokenizer) }

    public func fit(trainingSet: Tensor) throws {}

    public func generate(count: Int, classes: [Int]?, options: SamplingOptions) throws -> Tensor {
        try sampleTokens(count: count, classes: classes, given: nil, options: options)
    }

    public func decode(_ samples: Tensor, tokenizer: VideoTokenizer) throws -> Tensor { try decodeTokens(samples, tokenizer: tokenizer) }

    public func predictFrames(_ clips: Tensor, tokenizer: VideoTokenizer, options: SamplingOptions) throws -> Tensor {
        try predictFromTokens(clips, tokenizer: tokenizer) { n, given in try sampleTokens(count: n, classes: nil, given: given, options: options) }
    }
}

extension MaskedTransformer: TokenModel {
    public func sampleTokens(count: Int, classes: [Int]?, given: Tensor?, options: SamplingOptions) throws -> Tensor {
        try sample(count: count, classes: classes, given: given, options: options)
    }

    public func trainingLoss(_ examples: Tensor, classes: Tensor?, codingMasks: CodingMasks, parallel: (any DataParallelRanks)?) throws -> ObjectiveLoss {
        let r = try maskedLoss(tokens: examples, classes: classes, codingMasks: codingMasks, parallel: parallel)
        return ObjectiveLoss(loss: r.loss, values: ["accuracy": r.accuracy, "masked": r.maskedFraction])
    }

    public func networkEvaluations(_ options: SamplingOptions) -> Int { options.steps * passesPerStep(options) }
}
