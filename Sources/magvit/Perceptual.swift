// The perceptual distance for `magvit train`: shift-tolerant LPIPS (loss.perceptualNetwork alex or
// vgg) from the converted stlpips-pytorch weights, on the training device, frozen.
import Foundation
import Metrics
import Torch
import Training

func perceptualDistance(_ settings: TrainingConfig) throws -> PerceptualDistance? {
    guard settings.loss.perceptualWeight > 0 else { return nil }
    guard let network = LPIPS.Network(rawValue: settings.loss.perceptualNetwork) else {
        throw ConfigError("loss.perceptualNetwork is \(settings.loss.perceptualNetwork), expected alex or vgg")
    }
    let lpips = try LPIPS(weights: LPIPS.defaultWeights(network), device: Device(parsing: settings.run.device))
    return { x, y in try lpips(x, y) }
}
