// The perceptual distance for `magvit train`. LPIPS needs its pretrained network, which Magvit does
// not have yet (the metrics issue converts stlpips-pytorch's weights); until then a config asking for
// the perceptual loss is refused before training starts, with what to do instead.
import Training

func perceptualDistance(_ settings: TrainingConfig) throws -> PerceptualDistance? {
    guard settings.loss.perceptualWeight > 0 else { return nil }
    throw ConfigError("loss.perceptualWeight is \(settings.loss.perceptualWeight), but the LPIPS network is not part of Magvit yet; set loss.perceptualWeight to 0")
}
