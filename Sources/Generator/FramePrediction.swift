// Frame prediction (MAGVIT-v2 §4.2): the tokens of a clip's first conditionFrames latent frames are
// given, the rest sampled and decoded. The predicted frames are scored by PSNR, and by FVD with I3D
// when asked, against the real ones, beside two references: the tokenizer's own reconstruction (the
// ceiling) and copying the last given frame into every later one (the baseline).
import Foundation
import GeneratorModel
import Metrics
import Tokenizer
import Torch

public struct FramePrediction {
    /// Means over the clips and the predicted frames, with the keys of the training log.
    public struct Scores: Codable, Equatable, Sendable, LogRecord {
        public var psnrPredicted: Double
        public var psnrReconstruction: Double
        public var psnrCopyLastFrame: Double
        /// FVD against the real clips (I3D logits), when an I3D was given.
        public var fvdPredicted: Double?
        public var fvdReconstruction: Double?
        public var fvdCopyLastFrame: Double?
        public var clips: Int
        /// Frames 0..<givenFrames come from the given latent frames; the rest are predicted.
        public var givenFrames: Int

        enum CodingKeys: String, CodingKey {
            case psnrPredicted = "psnr_predicted", psnrReconstruction = "psnr_reconstruction", psnrCopyLastFrame = "psnr_copy_last_frame"
            case fvdPredicted = "fvd_predicted", fvdReconstruction = "fvd_reconstruction", fvdCopyLastFrame = "fvd_copy_last_frame"
            case clips, givenFrames = "given_frames"
        }
    }

    /// PSNR in dB of each predicted frame, averaged over the clips.
    public struct FramePSNR: Sendable {
        public let predicted: [Double]
        public let reconstruction: [Double]
        public let copyLastFrame: [Double]
    }

    public let scores: Scores
    public let framePSNR: FramePSNR
    /// (N, C, T, H, W) in [-1, 1] on the CPU: the clips, their reconstruction through the tokenizer,
    /// and the prediction (its given frames are reconstructed ones).
    public let real: Tensor, reconstruction: Tensor, prediction: Tensor

    /// Frames of a clip that its `conditionFrames` given latent frames cover in the tokenizer's causal
    /// layout: the first latent frame is one frame, each later one `temporalFactor` frames.
    public static func givenFrames(generator: GeneratorConfig, tokenizer: TokenizerConfig) -> Int {
        1 + (generator.conditionFrames - 1) * tokenizer.temporalFactor
    }

    /// Predicts `clips` (N, C, T, H, W) in [-1, 1], T and C the tokenizer's, from their first
    /// `model.config.conditionFrames` latent frames, and scores the prediction; FVD too when `i3d` is
    /// given (then N ≥ 2).
    public static func evaluate(model: any GenerativeNetwork, tokenizer: VideoTokenizer, clips: Tensor, options: SamplingOptions,
                                i3d: I3D? = nil) throws -> FramePrediction {
        try checkPredicts(model.config)
        return try evaluate(model: model, tokenizer: tokenizer, heldOut: HeldOutVideos(clips: clips, tokenizer: tokenizer, generator: model.config, i3d: i3d),
                            options: options)
    }

    /// The same on held-out clips whose references are already computed (a trainer's evaluations).
    public static func evaluate(model: any GenerativeNetwork, tokenizer: VideoTokenizer, heldOut h: HeldOutVideos,
                                options: SamplingOptions) throws -> FramePrediction {
        let g = model.config
        try checkPredicts(g)
        try h.check(g, tokenizer: tokenizer.config)
        let known = h.givenFrames, future = tokenizer.config.clipFrames - known
        guard let copy = h.copyLastFrame else { throw GeneratorError("the held-out clips were prepared for a generator with no given frames") }
        let real = h.real, prediction = try model.predictFrames(real, tokenizer: tokenizer, options: options)
        // PSNR of each clip's predicted frames in [0, 1], (N, future), then means over clips and frames.
        func psnr(_ x: Tensor) throws -> (mean: Double, frames: [Double]) {
            let a = try x.narrow(2, start: known, length: future).to(.float64), b = try real.narrow(2, start: known, length: future).to(.float64)
            let mse = try ((a - b) / 2.0).square().mean([1, 3, 4]).clamp(min: 1e-10)  // (N, future)
            let db = try mse.log() * (-10 / Foundation.log(10.0))
            return (try db.mean().item(), try db.mean(dim: 0).toArray(Double.self))
        }
        let (p, r, c) = (try psnr(prediction), try psnr(h.reconstruction), try psnr(copy))
        var scores = Scores(psnrPredicted: p.mean, psnrReconstruction: r.mean, psnrCopyLastFrame: c.mean, clips: h.count, givenFrames: known)
        if let fvd = try h.fvd(prediction) {
            (scores.fvdPredicted, scores.fvdCopyLastFrame, scores.fvdReconstruction) = (fvd, h.fvdCopyLastFrame, h.fvdReconstruction)
        }
        return FramePrediction(scores: scores, framePSNR: FramePSNR(predicted: p.frames, reconstruction: r.frames, copyLastFrame: c.frames),
                               real: real, reconstruction: h.reconstruction, prediction: prediction)
    }

    private static func checkPredicts(_ g: GeneratorConfig) throws {
        guard g.conditionFrames > 0, g.classes == 0 else {
            throw GeneratorError("frame prediction needs an unconditional generator with conditionFrames > 0, got conditionFrames \(g.conditionFrames), classes \(g.classes) (train one with generator.conditionFrames above 0 and generator.classes: 0)")
        }
    }

    /// One PNG of the first `clips` clips: for each a row of real, reconstructed and predicted frames.
    public func writeGrid(clips: Int = 3, to url: URL) throws {
        try GeneratedImages.writeGrid(gridFrames(clips: clips), columns: real.size(2), to: url)
    }

    /// The same grid as a picture (H, W, 3) in [0, 1].
    public func grid(clips: Int = 3) throws -> Tensor {
        try GeneratedImages.grid(gridFrames(clips: clips), columns: real.size(2))
    }

    /// Each frame of the first `clips` real, reconstructed and predicted clips as a 1-frame clip, in rows.
    private func gridFrames(clips: Int) throws -> Tensor {
        let rows = try (0..<Swift.min(clips, real.size(0))).flatMap { i in
            try [real, reconstruction, prediction].map { try $0.narrow(0, start: i, length: 1) }
        }
        let grid = try concatenate(rows, dim: 0)  // (3·clips, C, T, H, W)
        let (count, c, t, h, w) = (grid.size(0), grid.size(1), grid.size(2), grid.size(3), grid.size(4))
        return try grid.permute([0, 2, 1, 3, 4]).reshape([count * t, c, 1, h, w])  // each frame a (C, 1, H, W) picture
    }
}
