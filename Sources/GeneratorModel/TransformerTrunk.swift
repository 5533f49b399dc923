// The part of the generator that the three objectives share (GenerativeNetwork.swift): the class
// embedding (one extra row, the null class of classifier-free guidance), factorized 3D position
// embeddings (frame + row + column tables, summed) and the pre-norm transformer blocks with their
// final LayerNorm, under the same parameter names in every objective's checkpoint.
import NN
import Torch

final class TransformerTrunk {
    let classEmbedding: Embedding?
    let framePosition: Embedding, rowPosition: Embedding, columnPosition: Embedding
    let blocks: [TransformerBlock]
    let finalNorm: LayerNorm
    let width: Int

    init(_ root: ParameterPath, config: GeneratorConfig) throws {
        let d = config.width
        let small = Initializer.normal(mean: 0, std: 0.02)
        classEmbedding = config.classes > 0 ? try Embedding(root("class_embedding"), count: config.classes + 1, dimensions: d, initializer: small) : nil
        framePosition = try Embedding(root("position")("frame"), count: config.grid[0], dimensions: d, initializer: small)
        rowPosition = try Embedding(root("position")("row"), count: config.grid[1], dimensions: d, initializer: small)
        columnPosition = try Embedding(root("position")("column"), count: config.grid[2], dimensions: d, initializer: small)
        blocks = try (0..<config.depth).map { try TransformerBlock(root("blocks")($0), width: d, heads: config.heads, mlpRatio: config.mlpRatio) }
        finalNorm = try LayerNorm(root("final_norm"), dimensions: d)
        width = d
    }

    /// (1, L, D): frame + row + column embeddings of each grid position, frames outermost.
    func positions() throws -> Tensor {
        let (t, h, w, d) = (framePosition.weight.size(0), rowPosition.weight.size(0), columnPosition.weight.size(0), width)
        let sum = try framePosition.weight.reshape([t, 1, 1, d]) + rowPosition.weight.reshape([1, h, 1, d]) + columnPosition.weight.reshape([1, 1, w, d])
        return try sum.reshape([1, t * h * w, d])
    }
}
