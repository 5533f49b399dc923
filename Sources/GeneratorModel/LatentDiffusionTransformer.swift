// The latent diffusion transformer: flow matching (rectified flow; Lipman et al. 2023, Liu et al. 2023,
// as in Stable Diffusion 3) on the tokenizer's continuous encoder latents before quantization, on the
// same token grid, with the masked model's backbone (width, depth, heads, position embeddings, blocks).
//
// Latents z (B, L, C) are normalised per channel by the training set's mean and std (`fit`, kept as
// buffers). Training: x₀ = normalised z, ε ~ N(0, I), t ~ U(0, 1), x_t = (1 − t)·x₀ + t·ε; the network
// predicts the velocity v = ε − x₀ and the loss is mean‖v_θ(x_t, t, c) − v‖². The time (sinusoidal
// features → MLP) and the class (or the null class, dropped with probability conditionDropout) are two
// tokens prepended to the sequence (in-context conditioning, as U-ViT), attended bidirectionally.
// Sampling integrates dx/dt = v from t = 1 (noise) to t = 0 with `steps` Euler steps; guidance w uses
// (1 + w)·v_conditional − w·v_unconditional. Samples are quantized by the tokenizer (its decoder was
// trained on quantized latents only) and decoded. For frame prediction the given frames' latents stay
// clean (x_t = x₀ there, in training and at every solver step) and the loss covers the other positions.
import Foundation
import NN
import Tokenizer
import Torch

public final class LatentDiffusionTransformer {
    public let config: GeneratorConfig
    public let store: ParameterStore
    let input: Linear, output: Linear
    let timeUp: Linear, timeOut: Linear
    /// Class and position embeddings, blocks, final norm: the masked model's, under the same names.
    let trunk: TransformerTrunk
    /// Per-channel statistics of the training latents (C), set by `fit`.
    let latentMean: Tensor, latentStd: Tensor

    public init(config: GeneratorConfig, device: Device = .cpu) throws {
        guard config.objective == .diffusion else { throw GeneratorError("LatentDiffusionTransformer needs objective diffusion, got \(config.objective.rawValue)") }
        try config.validate()
        self.config = config
        store = ParameterStore(device: device)
        let root = store.root, d = config.width, c = config.latentChannels
        input = try Linear(root("input"), inputFeatures: c, outputFeatures: d)
        timeUp = try Linear(root("time")("up"), inputFeatures: d, outputFeatures: d)
        timeOut = try Linear(root("time")("out"), inputFeatures: d, outputFeatures: d)
        trunk = try TransformerTrunk(root, config: config)
        output = try Linear(root("output"), inputFeatures: d, outputFeatures: c)
        latentMean = try root.buffer("latent_mean", Tensor.zeros([c]))
        latentStd = try root.buffer("latent_std", Tensor.ones([c]))
    }

    var device: Device { store.device }
    /// Tokens before the grid's: time, and the class for a class-conditional model.
    var prefix: Int { config.classes > 0 ? 2 : 1 }

    /// (B, D): sinusoidal features of t·1000 (half sines, half cosines, periods up to 10⁴) through
    /// Linear → SiLU → Linear (DiT's timestep embedder).
    func timeEmbedding(_ t: Tensor) throws -> Tensor {
        let half = config.width / 2
        let frequencies = try (Tensor.arange(0, Double(half), dtype: .float32, device: device) * (-log(10000.0) / Double(half))).exp()
        let angles = try (t.to(.float32, device) * 1000.0).reshape([-1, 1]) * frequencies.reshape([1, half])
        var features = try concatenate([angles.sin(), angles.cos()], dim: 1)
        if config.width % 2 == 1 { features = try features.pad([0, 1]) }
        return try timeOut(timeUp(features).silu())
    }

    /// The predicted velocity (B, L, C) at noisy normalised latents x (B, L, C), times t (B) and class ids
    /// (B) of a class-conditional model (the null class `config.classes` for the unconditional velocity).
    public func velocity(_ x: Tensor, t: Tensor, classes: Tensor? = nil, training: Bool = false) throws -> Tensor {
        let (b, l) = (x.size(0), x.size(1))
        guard x.rank == 3, l == config.tokensPerExample, x.size(2) == config.latentChannels else {
            throw GeneratorError("expected latents (B, \(config.tokensPerExample), \(config.latentChannels)), got \(x.shape)")
        }
        var h = try input(x.to(store.dtype, device)) + trunk.positions()
        var conditions = [try timeEmbedding(t).unsqueeze(1)]
        if let classEmbedding = trunk.classEmbedding {
            guard let classes, classes.shape == [b] else { throw GeneratorError("a class-conditional model needs class ids (B), got \(classes?.shape.description ?? "none")") }
            conditions.append(try classEmbedding(classes.to(.int64, device)).unsqueeze(1))
        } else if classes != nil {
            throw GeneratorError("this model is not class-conditional")
        }
        h = try concatenate(conditions + [h], dim: 1)
        let p = training ? config.dropout : 0
        h = try dropout(h, p: p, training: training)
        for block in trunk.blocks { h = try block(h, dropout: p, training: training) }
        return try output(trunk.finalNorm(h).narrow(1, start: prefix, length: l))
    }

    /// Latents (B, L, C) in the tokenizer's units from normalised ones, and back.
    func denormalized(_ x: Tensor) throws -> Tensor { try x * latentStd + latentMean }
    func normalized(_ z: Tensor) throws -> Tensor { try (z.to(store.dtype, device) - latentMean) / latentStd }
}

// MARK: training

extension LatentDiffusionTransformer {
    /// The flow-matching loss on latents (B, L, C) in the tokenizer's units (see the file's header).
    public func flowMatchingLoss(latents: Tensor, classes: Tensor? = nil, parallel: (any DataParallelRanks)? = nil) throws -> Tensor {
        let b = latents.size(0), g = config.givenTokens, l = config.generatedTokens
        let x0 = try normalized(latents)
        let t = try globalDraw([b], parallel: parallel)
        let noise = try globalDraw(x0.shape, normal: true, parallel: parallel)
        let s = try t.reshape([b, 1, 1])
        let xt = try withGiven(x0.narrow(1, start: 0, length: g), x0 * (1.0 - s) + noise * s)
        let condition = try droppedClasses(classes, batch: b, parallel: parallel)
        let v = try velocity(xt, t: t, classes: condition, training: true)
        return try mseLoss(v.narrow(1, start: g, length: l), (noise - x0).narrow(1, start: g, length: l))
    }

    /// x (B, L, C) with its first givenTokens positions replaced by the clean `given` (B, givenTokens, C).
    func withGiven(_ given: Tensor?, _ x: Tensor) throws -> Tensor {
        let g = config.givenTokens
        guard let given, g > 0 else { return x }
        return try concatenate([given, x.narrow(1, start: g, length: config.generatedTokens)], dim: 1)
    }
}

// MARK: sampling

extension LatentDiffusionTransformer {
    /// Latents (B, L, C) in the tokenizer's units: ε ~ N(0, I) (the first draw after seeding) integrated
    /// from t = 1 to 0 with `options.steps` Euler steps x ← x − (t − t')·v(x, t); with guidance w the
    /// conditional and unconditional velocities come from one batch of 2B. A frame-prediction model takes
    /// the given frames' latents (B, givenTokens, C), kept clean. Temperature and top-k do not apply.
    public func sample(count: Int, classes: [Int]? = nil, given: Tensor? = nil, options: SamplingOptions = SamplingOptions()) throws -> Tensor {
        guard options.steps >= 1 else { throw GeneratorError("sampling needs steps >= 1") }
        guard options.temperature == 1, options.topK == 0 else {
            throw GeneratorError("temperature and top-k are for token models; the diffusion objective samples with steps and guidance only")
        }
        var condition = try sampleClasses(classes, count: count)
        let guided = condition != nil && options.guidance != 0
        if guided, let c = condition {
            condition = try concatenate([c, Tensor.full([count], Double(config.classes), dtype: .int64, device: device)], dim: 0)
        }
        let clean = try givenPart(given, count: count, trailing: [config.latentChannels]).map { try normalized($0) }
        Torch.manualSeed(options.seed)
        return try withNoGrad {
            var x = try Tensor.randn([count, config.tokensPerExample, config.latentChannels], device: device)
            for i in 0..<options.steps {
                let (t, next) = (1 - Double(i) / Double(options.steps), 1 - Double(i + 1) / Double(options.steps))
                x = try withGiven(clean, x)
                let input = guided ? try concatenate([x, x], dim: 0) : x
                var v = try velocity(input, t: Tensor.full([input.size(0)], t, device: device), classes: condition)
                if guided {
                    v = try MaskedTransformer.guided(v.narrow(0, start: 0, length: count), v.narrow(0, start: count, length: count), scale: options.guidance)
                }
                x = try x - v * (t - next)
            }
            return try denormalized(withGiven(clean, x))
        }
    }
}

extension LatentDiffusionTransformer: GenerativeNetwork {
    /// The tokenizer's continuous latents (B, L, C) of clips, before quantization.
    public func trainingExamples(_ clips: Tensor, tokenizer: VideoTokenizer) throws -> Tensor {
        try withNoGrad {
            let z = try tokenizer.latents(clips)  // (B, C, t, h, w)
            guard z.size(1) == config.latentChannels, Array(z.shape.suffix(3)) == config.grid else {
                throw GeneratorError("the tokenizer's latents are \(z.shape), the generator expects \(config.latentChannels) channels on a \(config.grid) grid")
            }
            return try z.permute([0, 2, 3, 4, 1]).reshape([z.size(0), config.tokensPerExample, config.latentChannels]).to(.float32, .cpu)
        }
    }

    /// Per-channel mean and standard deviation of the training latents (N, L, C), the normalisation.
    public func fit(trainingSet: Tensor) throws {
        try withNoGrad {
            let z = try trainingSet.to(.float32).reshape([-1, config.latentChannels])
            try latentMean.copy_(z.mean([0]).to(store.dtype, device))
            try latentStd.copy_(z.std([0]).clamp(min: 1e-4, max: .infinity).to(store.dtype, device))
        }
    }

    public func trainingLoss(_ examples: Tensor, classes: Tensor?, codingMasks: CodingMasks, parallel: (any DataParallelRanks)?) throws -> ObjectiveLoss {
        guard codingMasks.fraction == 0 else { throw GeneratorError("codingMasks are for objective masked") }
        return ObjectiveLoss(loss: try flowMatchingLoss(latents: examples, classes: classes, parallel: parallel), values: [:])
    }

    public func generate(count: Int, classes: [Int]?, options: SamplingOptions) throws -> Tensor {
        try sample(count: count, classes: classes, options: options)
    }

    /// Frames of latents (B, L, C): quantized by the tokenizer, then decoded.
    public func decode(_ samples: Tensor, tokenizer: VideoTokenizer) throws -> Tensor {
        let (t, h, w) = (config.grid[0], config.grid[1], config.grid[2])
        return try withNoGrad {
            var parts: [Tensor] = []
            for first in stride(from: 0, to: samples.size(0), by: 256) {
                let n = Swift.min(256, samples.size(0) - first)
                let z = try samples.narrow(0, start: first, length: n).reshape([n, t, h, w, config.latentChannels]).permute([0, 4, 1, 2, 3])
                let q = try tokenizer.quantize(z.contiguous().to(.float32, tokenizer.device), losses: false)
                parts.append(try tokenizer.decode(latents: q.latents).to(.float32, .cpu).clamp(min: -1, max: 1))
            }
            return try concatenate(parts, dim: 0)
        }
    }

    public func predictFrames(_ clips: Tensor, tokenizer: VideoTokenizer, options: SamplingOptions) throws -> Tensor {
        let latents = try trainingExamples(clips.to(tokenizer.device), tokenizer: tokenizer)
        let given = try latents.narrow(1, start: 0, length: config.givenTokens)
        return try decode(sample(count: latents.size(0), given: given, options: options), tokenizer: tokenizer)
    }

    /// One pass per Euler step.
    public func networkEvaluations(_ options: SamplingOptions) -> Int { options.steps * passesPerStep(options) }
}
