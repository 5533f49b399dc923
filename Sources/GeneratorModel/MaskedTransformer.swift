// The masked token model (MaskGIT, Chang et al. 2022; MAGVIT-v2 §3.2): a bidirectional pre-norm
// transformer over the token grid. Each position's input is the sum of its sub-token embeddings
// (a mask id per factor) and factorized 3D position embeddings (frame + row + column); a class
// token (or the null class) is prepended when the model is class-conditional. One output head per
// sub-token.
import Foundation
import NN
import Torch

public final class MaskedTransformer {
    public let config: GeneratorConfig
    public let store: ParameterStore
    public let factorization: TokenFactorization
    let tokenEmbeddings: [Embedding]
    /// Class and position embeddings, blocks, final norm (shared with the other objectives).
    let trunk: TransformerTrunk
    let outputHeads: [Linear]

    public init(config: GeneratorConfig, device: Device = .cpu) throws {
        try config.validate()
        self.config = config
        store = ParameterStore(device: device)
        factorization = TokenFactorization(bits: config.factorBits)
        let root = store.root, d = config.width
        let small = Initializer.normal(mean: 0, std: 0.02)
        tokenEmbeddings = try factorization.sizes.enumerated().map { i, size in
            try Embedding(root("token_embedding")(i), count: size + 1, dimensions: d, initializer: small)  // last id: mask
        }
        trunk = try TransformerTrunk(root, config: config)
        outputHeads = try factorization.sizes.enumerated().map { i, size in
            try Linear(root("output_head")(i), inputFeatures: d, outputFeatures: size)
        }
    }

    public var device: Device { store.device }
    public var parameterCount: Int { store.parameterCount }
    /// The id that marks a masked sub-token of factor i.
    public func maskID(_ factor: Int) -> Int { factorization.sizes[factor] }
    /// The class id meaning "no condition" (classifier-free guidance).
    public var nullClass: Int { config.classes }

    /// Logits of every sub-token, one (B, L, 2^bᵢ) tensor per factor, for sub-token ids (B, L) each
    /// (the mask id where masked) and class ids (B) when the model is class-conditional.
    public func logits(_ factors: [Tensor], classes: Tensor? = nil, training: Bool = false) throws -> [Tensor] {
        guard factors.count == tokenEmbeddings.count else {
            throw GeneratorError("expected \(tokenEmbeddings.count) sub-token tensors, got \(factors.count)")
        }
        let (b, l) = (factors[0].size(0), factors[0].size(1))
        guard l == config.tokensPerExample else { throw GeneratorError("expected \(config.tokensPerExample) tokens per example, got \(l)") }
        var x = try tokenEmbeddings[0](factors[0].to(device))
        for (embedding, ids) in zip(tokenEmbeddings, factors).dropFirst() { x = try x + embedding(ids.to(device)) }
        x = try x + trunk.positions()
        if let classEmbedding = trunk.classEmbedding {
            guard let classes, classes.shape == [b] else { throw GeneratorError("a class-conditional model needs class ids (B), got \(classes?.shape.description ?? "none")") }
            x = try concatenate([classEmbedding(classes.to(.int64, device)).unsqueeze(1), x], dim: 1)
        }
        let p = training ? config.dropout : 0
        x = try dropout(x, p: p, training: training)
        for block in trunk.blocks { x = try block(x, dropout: p, training: training) }
        x = try trunk.finalNorm(x)
        if trunk.classEmbedding != nil { x = try x.narrow(1, start: 1, length: l) }
        return try outputHeads.map { try $0(x) }
    }
}
