// The perceptual distance for `magvit train`: shift-tolerant LPIPS (loss.perceptualNetwork alex or
// vgg) from the converted stlpips-pytorch weights, on the training device, frozen.
import Foundation
import Metrics
import Torch
import Training

func perceptualDistance(_ settings: TrainingConfig) throws -> PerceptualDistance? {
    guard settings.loss.perceptualWeight > 0 else { return nil }
    let network: LPIPS.Network = switch settings.loss.perceptualNetwork {
    case .alex: .alex
    case .vgg: .vgg
    }
    try settings.run.device.checkAvailable()
    let lpips = try LPIPS(weights: LPIPS.defaultWeights(network), device: settings.run.device.device)
    return { x, y in try lpips(x, y) }
}
