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
    let classEmbedding: Embedding?
    let framePosition: Embedding, rowPosition: Embedding, columnPosition: Embedding
    let blocks: [TransformerBlock]
    let finalNorm: LayerNorm
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
        classEmbedding = config.classes > 0 ? try Embedding(root("class_embedding"), count: config.classes + 1, dimensions: d, initializer: small) : nil
        framePosition = try Embedding(root("position")("frame"), count: config.grid[0], dimensions: d, initializer: small)
        rowPosition = try Embedding(root("position")("row"), count: config.grid[1], dimensions: d, initializer: small)
        columnPosition = try Embedding(root("position")("column"), count: config.grid[2], dimensions: d, initializer: small)
        blocks = try (0..<config.depth).map { try TransformerBlock(root("blocks")($0), width: d, heads: config.heads, mlpRatio: config.mlpRatio) }
        finalNorm = try LayerNorm(root("final_norm"), dimensions: d)
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
        x = try x + positions()
        if let classEmbedding {
            guard let classes, classes.shape == [b] else { throw GeneratorError("a class-conditional model needs class ids (B), got \(classes?.shape.description ?? "none")") }
            x = try concatenate([classEmbedding(classes.to(.int64, device)).unsqueeze(1), x], dim: 1)
        }
        let p = training ? config.dropout : 0
        x = try dropout(x, p: p, training: training)
        for block in blocks { x = try block(x, dropout: p, training: training) }
        x = try finalNorm(x)
        if classEmbedding != nil { x = try x.narrow(1, start: 1, length: l) }
        return try outputHeads.map { try $0(x) }
    }

    /// (1, L, D): frame + row + column embeddings of each grid position, frames outermost.
    func positions() throws -> Tensor {
        let (t, h, w) = (config.grid[0], config.grid[1], config.grid[2])
        let d = config.width
        let frames = try framePosition.weight.reshape([t, 1, 1, d])
        let rows = try rowPosition.weight.reshape([1, h, 1, d])
        let columns = try columnPosition.weight.reshape([1, 1, w, d])
        return try (frames + rows + columns).reshape([1, t * h * w, d])
    }
}
