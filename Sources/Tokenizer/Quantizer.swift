// The quantizer interface shared by lookup-free quantization and classic vector quantization,
// and codebook-usage statistics.
import Foundation
import Torch

/// What a quantizer returns for a batch of latents.
public struct Quantization {
    /// Straight-through quantized latents (B, d, t, h, w): forward value is the code, gradient flows to z.
    public let latents: Tensor
    /// Token ids (B, t, h, w), int64.
    public let ids: Tensor
    /// The quantizer's loss terms, unweighted values with their weights: LFQ "commitment",
    /// "entropy_sample" (E[H(p(c|z))], nats) and "entropy_codebook" (H(E[p(c|z)]), exact or grouped,
    /// see QuantizerConfig.entropyGroupBits, weighted −γ); VQ "commitment" and "codebook"
    /// (mean((sg(z) − q)²)). Empty when losses were not asked for.
    public let terms: LossTerms
    /// Σ weight · value of the terms (0 without terms): the auxiliary loss to add to the objective.
    public let loss: Tensor
    public let codebookSize: Int

    public init(latents: Tensor, ids: Tensor, terms: LossTerms, loss: Tensor, codebookSize: Int) {
        (self.latents, self.ids, self.terms, self.loss, self.codebookSize) = (latents, ids, terms, loss, codebookSize)
    }

    /// Distinct codes and perplexity of this batch's ids.
    public func usage() throws -> CodebookUsage { try CodebookUsage(ids: ids, codebookSize: codebookSize) }
}

/// How much of the vocabulary a set of tokens uses.
public struct CodebookUsage: Sendable, Equatable {
    /// Distinct codes seen.
    public let used: Int
    public let codebookSize: Int
    /// exp(entropy of the empirical code distribution): the effective number of codes in use.
    public let perplexity: Double

    public var fraction: Double { Double(used) / Double(codebookSize) }

    public init(ids: Tensor, codebookSize: Int) throws {
        try self.init(counts: ids.flatten().bincount(minLength: codebookSize))
    }

    /// Usage accumulated over many batches: pass the summed counts.
    public init(counts: Tensor) throws {
        let c = try counts.to(.float64)
        let p = try c / Swift.max(try c.sum().item(), 1)
        used = Int(try c.gt(0).to(.int64).sum().item())
        codebookSize = c.count
        perplexity = Foundation.exp(try -(p * (p + 1e-300).log()).sum().item())
    }
}

/// Turns continuous latents into tokens and tokens back into latents.
public protocol Quantizer: AnyObject {
    var config: QuantizerConfig { get }
    /// Quantizes z (B, d, t, h, w); `step` drives loss annealing. Losses are computed only when `losses` is set.
    func callAsFunction(_ z: Tensor, step: Int, losses: Bool) throws -> Quantization
    /// Token ids (B, t, h, w) of z without any loss computation.
    func ids(_ z: Tensor) throws -> Tensor
    /// The latent codes (B, d, t, h, w) of token ids (B, t, h, w).
    func codes(_ ids: Tensor) throws -> Tensor
}
