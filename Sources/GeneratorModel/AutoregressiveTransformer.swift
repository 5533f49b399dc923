// The autoregressive token model (the objective of VQGAN's transformer, Esser et al. 2021, and of
// Open-MAGVIT2's generator): the masked model's backbone made causal over the raster order of the
// token grid (frames, then rows, then columns), trained by teacher forcing on the next token, decoded
// one token at a time with a KV cache. For frame prediction the given frames' tokens are the start of
// the sequence: never predicted (no loss on them), read into the cache in one pass before sampling.
//
// Sequence (length L, the grid's token count): slot p predicts token p; it holds the start vector
// (p = 0: the class embedding, or for an unconditional model the sum of the mask-id sub-token
// embeddings) or token p − 1's sub-token embeddings, plus the position embedding of p, so a slot knows
// which grid position it predicts. The sub-tokens of one token are predicted by independent heads from
// the same hidden state (as the masked model's are). The modules and parameter names are exactly the
// masked model's (`backbone`), so both objectives have the same parameter count.
import Foundation
import NN
import Tokenizer
import Torch

public final class AutoregressiveTransformer {
    /// The modules: token, class and position embeddings, blocks, final norm, output heads.
    public let backbone: MaskedTransformer

    public init(config: GeneratorConfig, device: Device = .cpu) throws {
        guard config.objective == .autoregressive else { throw GeneratorError("AutoregressiveTransformer needs objective autoregressive, got \(config.objective.rawValue)") }
        backbone = try MaskedTransformer(config: config, device: device)
    }

    public var config: GeneratorConfig { backbone.config }
    public var store: ParameterStore { backbone.store }
    var factorization: TokenFactorization { backbone.factorization }

    /// Logits of every position, one (B, L, 2^bᵢ) tensor per factor, from the causal pass over token ids
    /// (B, L) (teacher forcing: position p sees tokens 0..<p) and class ids (B) of a class-conditional model.
    public func logits(_ tokens: Tensor, classes: Tensor? = nil, training: Bool = false) throws -> [Tensor] {
        let l = config.tokensPerExample
        guard tokens.rank == 2, tokens.size(1) == l else { throw GeneratorError("expected token ids (B, \(l)), got \(tokens.shape)") }
        let p = training ? config.dropout : 0
        var x = try slots(tokens, classes: classes, from: 0, count: l)
        x = try dropout(x, p: p, training: training)
        for block in backbone.trunk.blocks { x = try block(x, dropout: p, training: training, causal: true) }
        return try heads(x)
    }

    /// Logits (B, n, 2^bᵢ) of positions start..<start+n, with the positions before them in `cache` (which
    /// this extends): the same numbers as `logits` of those positions, at O(n·(start + n)) attention cost.
    /// `tokens` (B, ≥ start + n − 1): the ids of the positions before, of which start − 1 ..< start + n − 1 are read.
    public func logits(_ tokens: Tensor?, classes: Tensor? = nil, from start: Int, count n: Int, cache: KeyValueCache) throws -> [Tensor] {
        guard cache.length == start else { throw GeneratorError("the cache holds \(cache.length) positions, not the \(start) before position \(start)") }
        var x = try slots(tokens, classes: classes, from: start, count: n)
        for (i, block) in backbone.trunk.blocks.enumerated() { x = try block(x, cache: cache.layer(i)) }
        return try heads(x)
    }

    /// (B, n, D): the input slots of positions start..<start+n (see the file's header).
    func slots(_ tokens: Tensor?, classes: Tensor?, from start: Int, count n: Int) throws -> Tensor {
        let m = backbone, l = config.tokensPerExample
        guard start >= 0, n >= 1, start + n <= l else { throw GeneratorError("positions \(start)..<\(start + n) are outside 0..<\(l)") }
        let known = start == 0 ? n - 1 : n  // token slots (the others: the start vector)
        var parts: [Tensor] = []
        if known > 0 {
            guard let tokens, tokens.rank == 2, tokens.size(1) >= start + n - 1 else {
                throw GeneratorError("positions \(start)..<\(start + n) need the ids of the \(start + n - 1) positions before, got \(tokens?.shape.description ?? "none")")
            }
            let ids = try factorization.split(tokens.narrow(1, start: max(start - 1, 0), length: known).to(.int64, m.device))
            var x = try m.tokenEmbeddings[0](ids[0])
            for (embedding, f) in zip(m.tokenEmbeddings, ids).dropFirst() { x = try x + embedding(f) }
            parts.append(x)
        }
        if start == 0 {
            guard let b = tokens?.size(0) ?? classes?.size(0) else { throw GeneratorError("the first position needs token ids (B, 0 or more) or class ids (B)") }
            parts.insert(try startVector(classes: classes, batch: b), at: 0)
        }
        let x = parts.count == 1 ? parts[0] : try concatenate(parts, dim: 1)
        return try x + m.trunk.positions().narrow(1, start: start, length: n)
    }

    /// (B, 1, D): the class embedding, or the mask-id embeddings of an unconditional model.
    func startVector(classes: Tensor?, batch b: Int) throws -> Tensor {
        let m = backbone
        if let classEmbedding = m.trunk.classEmbedding {
            guard let classes, classes.shape == [b] else { throw GeneratorError("a class-conditional model needs class ids (B), got \(classes?.shape.description ?? "none")") }
            return try classEmbedding(classes.to(.int64, m.device)).unsqueeze(1)
        }
        guard classes == nil else { throw GeneratorError("this model is not class-conditional") }
        var x = try m.tokenEmbeddings[0].weight.narrow(0, start: m.maskID(0), length: 1)
        for (i, embedding) in m.tokenEmbeddings.enumerated().dropFirst() { x = try x + embedding.weight.narrow(0, start: m.maskID(i), length: 1) }
        return try x.unsqueeze(0).expand([b, 1, config.width])
    }

    func heads(_ x: Tensor) throws -> [Tensor] {
        let h = try backbone.trunk.finalNorm(x)
        return try backbone.outputHeads.map { try $0(h) }
    }
}

// MARK: training

public struct AutoregressiveLoss {
    public let loss: Tensor
    /// Fraction of tokens whose every sub-token the argmax predicts right.
    public let accuracy: Double
}

extension AutoregressiveTransformer {
    /// Next-token cross-entropy (label smoothing `labelSmoothing`) over every generated position (all
    /// but the given frames') and factor, the factors averaged; classes dropped to the null class with
    /// probability conditionDropout.
    public func autoregressiveLoss(tokens: Tensor, classes: Tensor? = nil, parallel: (any DataParallelRanks)? = nil) throws -> AutoregressiveLoss {
        let b = tokens.size(0), given = config.givenTokens, l = config.generatedTokens
        let ids = try tokens.to(.int64, backbone.device)
        let condition = try droppedClasses(classes, batch: b, parallel: parallel)
        let logits = try self.logits(ids, classes: condition, training: true).map { try $0.narrow(1, start: given, length: l) }
        var loss: Tensor? = nil
        var allRight: Tensor? = nil
        for (logit, target) in zip(logits, try factorization.split(ids.narrow(1, start: given, length: l))) {
            let term = try crossEntropy(logit.reshape([b * l, logit.size(2)]), target.reshape([b * l]), labelSmoothing: config.labelSmoothing)
            loss = try loss.map { try $0 + term } ?? term
            let right = try logit.argmax(dim: 2).eq(target)
            allRight = try allRight.map { try $0.logicalAnd(right) } ?? right
        }
        return AutoregressiveLoss(loss: try loss! / Double(logits.count), accuracy: try allRight!.to(.float32).mean().item())
    }
}

// MARK: sampling

extension AutoregressiveTransformer {
    /// Token ids (B, L) drawn one position at a time in raster order (temperature and top-k per
    /// sub-token), each position one cached pass; with guidance w the conditional and unconditional
    /// passes run as one batch of 2B and the logits are (1 + w)·conditional − w·unconditional. A
    /// frame-prediction model takes the given frames' tokens (B, givenTokens), read in the first pass.
    /// `options.steps` and `confidenceNoise` do not apply (every position is one step). `cached: false`
    /// recomputes the whole prefix at every position instead (O(N³) attention work; for comparison).
    public func sample(count: Int, classes: [Int]? = nil, given: Tensor? = nil, options: SamplingOptions = SamplingOptions(),
                       cached: Bool = true) throws -> Tensor {
        guard options.temperature > 0, options.topK >= 0 else { throw GeneratorError("sampling needs temperature > 0 and topK >= 0") }
        var condition = try sampleClasses(classes, count: count)
        let guided = condition != nil && options.guidance != 0
        if guided, let c = condition {
            condition = try concatenate([c, Tensor.full([count], Double(config.classes), dtype: .int64, device: backbone.device)], dim: 0)
        }
        let (g, l) = (config.givenTokens, config.tokensPerExample)
        let prefix = try givenPart(given, count: count)?.to(.int64)
        Torch.manualSeed(options.seed)
        return try withNoGrad {
            var cache = KeyValueCache(layers: config.depth)
            var tokens = try prefix ?? Tensor.zeros([count, 0], dtype: .int64, device: backbone.device)  // (B or 2B, p): known so far
            if guided { tokens = try concatenate([tokens, tokens], dim: 0) }
            for p in g..<l {
                let start = p == g || !cached ? 0 : p  // the first pass reads the given tokens too
                if !cached { cache = KeyValueCache(layers: config.depth) }
                var logits = try self.logits(tokens, classes: condition, from: start, count: p - start + 1, cache: cache).map { try $0.select(1, p - start) }  // (B', V)
                if guided {
                    logits = try logits.map { try MaskedTransformer.guided($0.narrow(0, start: 0, length: count), $0.narrow(0, start: count, length: count), scale: options.guidance) }
                }
                let drawn = try logits.map { logit in
                    try samplingLogits(logit, temperature: options.temperature, topK: options.topK).softmax(dim: 1).multinomial(1)  // (B, 1)
                }
                var next = try factorization.join(drawn)
                if guided { next = try concatenate([next, next], dim: 0) }
                tokens = try concatenate([tokens, next], dim: 1)
            }
            return try tokens.narrow(0, start: 0, length: count)
        }
    }
}

extension AutoregressiveTransformer: TokenModel {
    public func sampleTokens(count: Int, classes: [Int]?, given: Tensor?, options: SamplingOptions) throws -> Tensor {
        try sample(count: count, classes: classes, given: given, options: options)
    }

    public func trainingLoss(_ examples: Tensor, classes: Tensor?, codingMasks: CodingMasks, parallel: (any DataParallelRanks)?) throws -> ObjectiveLoss {
        guard codingMasks.fraction == 0 else { throw GeneratorError("codingMasks are for objective masked") }
        let r = try autoregressiveLoss(tokens: examples, classes: classes, parallel: parallel)
        return ObjectiveLoss(loss: r.loss, values: ["accuracy": r.accuracy])
    }

    /// One (cached) pass per generated token; the first also reads the given frames' tokens.
    public func networkEvaluations(_ options: SamplingOptions) -> Int { config.generatedTokens * passesPerStep(options) }
}
