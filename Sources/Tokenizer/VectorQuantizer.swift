// Classic vector quantization (van den Oord et al. 2017, VQ-VAE): nearest codebook entry by
// Euclidean distance, codebook loss ‖sg(z) − e‖², commitment ‖z − sg(e)‖², straight-through gradients.
// MAGVIT-v2 §3.1 compares it with LFQ as the vocabulary grows.
import NN
import Torch

public final class VectorQuantizer: Quantizer {
    public let config: QuantizerConfig
    /// (K, d) code vectors.
    public let codebook: Embedding

    public init(_ path: ParameterPath, config: QuantizerConfig) throws {
        self.config = config
        let k = config.codebookSize
        codebook = try Embedding(path("codebook"), count: k, dimensions: config.latentChannels,
                                 initializer: .uniform(-1 / Double(k), 1 / Double(k)))
    }

    /// (B, d, t, h, w) → (N, d) rows in (B, t, h, w) order.
    private func rows(_ z: Tensor) throws -> Tensor {
        guard z.rank == 5, z.size(1) == config.latentChannels else {
            throw TokenizerError.invalidInput("VQ expects latents (B, \(config.latentChannels), t, h, w), got \(z.shape)")
        }
        return try z.permute([0, 2, 3, 4, 1]).reshape([-1, config.latentChannels])
    }

    public func ids(_ z: Tensor) throws -> Tensor {
        let flat = try rows(z).detach()
        let e = try codebook.weight.detach()
        // ‖z‖² is the same for every code, so argmin of ‖e‖² − 2 z·e picks the nearest.
        let distance = try e.square().sum(dim: 1).unsqueeze(0) - matmul(flat, e.transpose(0, 1)) * 2
        return try distance.argmin(dim: 1).reshape([z.size(0), z.size(2), z.size(3), z.size(4)])
    }

    public func codes(_ ids: Tensor) throws -> Tensor {
        try codebook(ids.to(.int64)).permute([0, 4, 1, 2, 3])  // (B, d, t, h, w)
    }

    public func callAsFunction(_ z: Tensor, step: Int = 0, losses: Bool = true) throws -> Quantization {
        let ids = try self.ids(z)
        let q = try codes(ids)
        let straightThrough = try z + (q - z).detach()
        var terms = LossTerms()
        if losses {
            try terms.add("commitment", mseLoss(z, q.detach()), weight: config.commitmentWeight)
            try terms.add("codebook", mseLoss(q, z.detach()), weight: config.vq.codebookWeight)
        }
        return Quantization(latents: straightThrough, ids: ids, terms: terms, loss: try terms.total() ?? Tensor.zeros([], device: z.device),
                            codebookSize: config.codebookSize)
    }
}
