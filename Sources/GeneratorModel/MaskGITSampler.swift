// Non-autoregressive decoding (MaskGIT §3.2, MAGVIT-v2 §3.2): start with every free token masked;
// at step t of T sample all masked tokens, score each by its log-probability plus Gumbel noise of
// temperature τ·(1 − (t+1)/T), keep the most confident and re-mask the rest so that ⌊γ((t+1)/T)·N⌋
// stay masked (none after the last step). Classifier-free guidance mixes the logits as
// (1 + w)·conditional − w·unconditional. Given tokens (frame prediction) are never changed.
import Foundation
import NN
import Torch

public struct SamplingOptions: Sendable {
    public var steps = 12
    /// Guidance scale w (0: conditional logits only).
    public var guidance = 0.0
    /// Softmax temperature of the token draws.
    public var temperature = 1.0
    /// Keep only the k most likely values of each sub-token (0: all).
    public var topK = 0
    /// τ of the confidence noise at the first step, annealed linearly to 0.
    public var confidenceNoise = 4.5
    public var seed: UInt64 = 0

    public init(steps: Int = 12, guidance: Double = 0, temperature: Double = 1, topK: Int = 0, confidenceNoise: Double = 4.5, seed: UInt64 = 0) {
        self.steps = steps
        self.guidance = guidance
        self.temperature = temperature
        self.topK = topK
        self.confidenceNoise = confidenceNoise
        self.seed = seed
    }
}

extension MaskedTransformer {
    /// Classifier-free guidance: (1 + w)·conditional − w·unconditional.
    public static func guided(_ conditional: Tensor, _ unconditional: Tensor, scale w: Double) throws -> Tensor {
        try conditional * (1 + w) - unconditional * w
    }

    /// Token ids (B, L) for `count` examples: class ids (B) for a class-conditional model, and the
    /// tokens of the given frames (B, givenTokens) when the model predicts frames.
    public func sample(count: Int, classes: [Int]? = nil, given: Tensor? = nil, options: SamplingOptions = SamplingOptions(),
                       onStep: ((Int) -> Void)? = nil) throws -> Tensor {
        guard options.steps >= 1, options.temperature > 0, options.topK >= 0 else {
            throw GeneratorError("sampling needs steps >= 1, temperature > 0 and topK >= 0")
        }
        let (givenCount, free) = (config.givenTokens, config.generatedTokens)
        var condition: Tensor? = nil, unconditional: Tensor? = nil
        if config.classes > 0 {
            guard let classes, classes.count == count, classes.allSatisfy({ (0..<config.classes).contains($0) }) else {
                throw GeneratorError("a class-conditional model needs \(count) class ids in 0..<\(config.classes)")
            }
            condition = try Tensor(classes.map(Int64.init), shape: [count], device: device)
            if options.guidance != 0 { unconditional = try Tensor.full([count], Double(nullClass), dtype: .int64, device: device) }
        } else if classes != nil {
            throw GeneratorError("this model is not class-conditional")
        }
        var prefix: Tensor? = nil
        if givenCount > 0 {
            guard let given, given.shape == [count, givenCount] else {
                throw GeneratorError("this model predicts frames: it needs the tokens of \(config.conditionFrames) latent frames, (\(count), \(givenCount)), got \(given?.shape.description ?? "none")")
            }
            prefix = try given.to(.int64, device)
        } else if given != nil {
            throw GeneratorError("this model does not take given frames")
        }
        Torch.manualSeed(options.seed)
        return try withNoGrad {
            var generated = try Tensor.zeros([count, free], dtype: .int64, device: device)
            var unknown = try Tensor.ones([count, free], dtype: .bool, device: device)
            for t in 0..<options.steps {
                let ids = try prefix.map { try concatenate([$0, generated], dim: 1) } ?? generated
                let hidden = try prefix.map { p in try concatenate([Tensor.zeros(p.shape, dtype: .bool, device: device), unknown], dim: 1) } ?? unknown
                let inputs = try factorization.split(ids).enumerated().map { i, f in
                    try which(hidden, Tensor(scalar: Double(maskID(i)), dtype: .int64, device: device), f)
                }
                var logits = try self.logits(inputs, classes: condition)
                if let unconditional {
                    let other = try self.logits(inputs, classes: unconditional)
                    logits = try zip(logits, other).map { c, u in try Self.guided(c, u, scale: options.guidance) }
                }
                // Draw every sub-token of the free positions and sum their log-probabilities.
                var drawn: [Tensor] = [], confidence: Tensor? = nil
                for logit in logits {
                    var l = try logit.narrow(1, start: givenCount, length: free) / options.temperature
                    if options.topK > 0, options.topK < l.size(2) {
                        let kth = try l.topk(options.topK, dim: 2).values.narrow(2, start: options.topK - 1, length: 1)
                        l = try l.maskedFill(l.lt(kth), -Double.infinity)
                    }
                    let logp = try l.logSoftmax(dim: 2)
                    let choice = try logp.exp().reshape([count * free, l.size(2)]).multinomial(1).reshape([count, free])
                    drawn.append(choice)
                    let score = try logp.gather(2, choice.unsqueeze(2)).squeeze(2)
                    confidence = try confidence.map { try $0 + score } ?? score
                }
                let candidate = try factorization.join(drawn)
                let remaining = t == options.steps - 1 ? 0 : try min(MaskSchedule.maskedAfterStep(t, of: options.steps, count: free),
                                                                   Int(unknown.to(.int64).sum(dim: 1).min().item()) - 1)
                let tau = options.confidenceNoise * (1 - Double(t + 1) / Double(options.steps))
                let uniform = try Tensor.rand([count, free], dtype: .float32, device: device).clamp(min: 1e-20, max: 1 - 1e-7)
                var score = try confidence! + (-(-(uniform.log())).log()) * tau
                score = try which(unknown, score, Tensor(scalar: .infinity, device: device))  // decided tokens stay
                var stillUnknown = try Tensor.zeros([count, free], dtype: .bool, device: device)
                if remaining > 0 {
                    let cutoff = try score.sorted(dim: 1).values.narrow(1, start: remaining - 1, length: 1)
                    stillUnknown = try score.le(cutoff).logicalAnd(unknown)
                }
                let decide = try unknown.logicalAnd(stillUnknown.logicalNot())
                generated = try which(decide, candidate, generated)
                unknown = stillUnknown
                onStep?(t)
            }
            return try prefix.map { try concatenate([$0, generated], dim: 1) } ?? generated
        }
    }
}
