// The Inception Score (Salimans et al. 2016): exp E_x KL(p(y|x) ‖ p(y)), computed on each of `splits`
// consecutive parts of the set (p(y) the part's mean prediction) and reported as the mean and
// standard deviation over the parts, as the original code and most reproductions do. The standard
// classifier is TensorFlow's 2015 Inception-v3 with its 1008-way softmax: FIDInception's pool3
// features through the logits layer (`InceptionLogits`), which a user has to bring (see docs/metrics.md).
import Foundation
import NN
import Torch

public enum InceptionScore {
    /// (mean, std over splits) of the score of (N, K) class probabilities (rows summing to 1).
    public static func score(probabilities p: Tensor, splits: Int = 10) throws -> (mean: Double, std: Double) {
        guard p.rank == 2, p.size(0) >= splits, splits >= 1 else {
            throw TorchError(op: "inception score", message: "expected (N, K) probabilities with N ≥ splits (\(splits)), got \(p.shape)")
        }
        let x = try p.to(.float64, .cpu)
        let n = x.size(0)
        var scores: [Double] = []
        for i in 0..<splits {
            // Part i is rows ⌊i·n/splits⌋ ..< ⌊(i+1)·n/splits⌋, as in the original code.
            let start = i * n / splits, end = (i + 1) * n / splits
            let part = try x.narrow(0, start: start, length: end - start)
            let marginal = try part.mean(dim: 0, keepDim: true)
            // KL per row, with 0·log 0 = 0.
            let logRatio = try (part.clamp(min: 1e-300).log() - marginal.clamp(min: 1e-300).log())
            let kl = try (part * logRatio).sum(dim: 1)
            scores.append(Foundation.exp(try kl.mean().item()))
        }
        let mean = scores.reduce(0, +) / Double(splits)
        let variance = scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(splits)
        return (mean, variance.squareRoot())
    }
}

/// The 1008-way logits layer of TensorFlow's Inception-v3 graph over pool3 features (what Inception
/// Score code applies a softmax to), from a file made by `scripts/convert-weights.py inception-logits`.
public final class InceptionLogits {
    public let weight: Tensor, bias: Tensor

    public static func defaultWeights(root: URL = MetricWeights.root) -> URL {
        root.appendingPathComponent("inception-v3-logits.safetensors")
    }

    public init(weights url: URL, device: Device = .cpu) throws {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw MetricWeightsError(description: "\(url.path): no Inception logits layer there. No offline package has it: convert pytorch-fid's pt_inception-2015-12-05-6726825d.pth with `python3 scripts/convert-weights.py inception-logits PTH OUT` (docs/metrics.md)")
        }
        let file = try MetricWeights.read(url, network: "inception-v3-logits", what: "Inception logits layer", source: "pytorch-fid's weights")
        guard let w = file.tensors["weight"], let b = file.tensors["bias"], w.rank == 2, w.size(1) == FIDInception.featureCount,
              b.shape == [w.size(0)] else {
            throw MetricWeightsError(description: "\(url.path): expected weight (K, \(FIDInception.featureCount)) and bias (K)")
        }
        weight = try w.to(.float32, device)
        bias = try b.to(.float32, device)
    }

    /// Class probabilities (N, K) of pool3 features (N, 2048).
    public func probabilities(_ features: Tensor) throws -> Tensor {
        try (matmul(features.to(.float32, weight.device), weight.transpose(0, 1)) + bias).softmax(dim: 1)
    }
}
