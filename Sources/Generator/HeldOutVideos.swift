// What a video generator's held-out clips score with no generator at all: the clips, the tokenizer's
// reconstruction of them (the ceiling of any generator of its tokens), frame prediction's baseline
// (the last given frame copied into every later one) and, with an I3D, the real clips' statistics and
// the references' FVD against them. None of it depends on the generator, so a trainer computes it once
// and every evaluation reuses it (frame prediction and unconditional video scores).
import Foundation
import GeneratorModel
import Metrics
import Tokenizer
import Torch

public struct HeldOutVideos {
    /// (N, C, T, H, W) in [-1, 1] on the CPU: the clips and their reconstruction through the tokenizer.
    public let real: Tensor, reconstruction: Tensor
    /// The token grid of the generator they were prepared for; frames 0..<givenFrames of a clip come
    /// from its given latent frames (0: none given).
    public let grid: [Int], givenFrames: Int
    /// The real clips with their last given frame in every later frame; nil when none are given.
    public let copyLastFrame: Tensor?
    /// The FVD network and the statistics of the real clips under it; nil without FVD.
    let i3d: I3D?
    private let reference: FeatureStatistics?
    public let fvdReconstruction: Double?
    public let fvdCopyLastFrame: Double?

    public var count: Int { real.size(0) }

    /// `clips` (N, C, T, H, W) in [-1, 1], C and T the tokenizer's, as `generator`'s evaluations see
    /// them; FVD too when `i3d` is given (then N ≥ 2).
    public init(clips: Tensor, tokenizer: VideoTokenizer, generator g: GeneratorConfig, i3d: I3D? = nil) throws {
        let m = tokenizer.config
        guard clips.rank == 5, clips.size(1) == m.imageChannels, clips.size(2) == m.clipFrames,
              clips.size(3) == m.resolution, clips.size(4) == m.resolution else {
            throw GeneratorError("held-out clips for this tokenizer are (N, \(m.imageChannels), \(m.clipFrames), \(m.resolution), \(m.resolution)), got \(clips.shape)")
        }
        let n = clips.size(0)
        if i3d != nil, n < 2 { throw GeneratorError("FVD needs at least 2 clips, got \(n)") }
        real = try clips.to(.float32, .cpu)
        grid = g.grid
        let ids = try tokenizer.encode(clips.to(tokenizer.device)).reshape([n, -1])
        reconstruction = try GenerativeNetworks.decodeTokens(ids, grid: g.grid, tokenizer: tokenizer)
        if g.conditionFrames > 0 {
            let known = FramePrediction.givenFrames(generator: g, tokenizer: m), future = m.clipFrames - known
            givenFrames = known
            copyLastFrame = try concatenate([real.narrow(2, start: 0, length: known),
                                             real.narrow(2, start: known - 1, length: 1).expand([-1, -1, future, -1, -1])], dim: 2)
        } else {
            (givenFrames, copyLastFrame) = (0, nil)
        }
        self.i3d = i3d
        if let i3d {
            let reference = try i3d.statistics(real)
            self.reference = reference
            fvdReconstruction = try FrechetDistance.distance(reference, i3d.statistics(reconstruction))
            fvdCopyLastFrame = try copyLastFrame.map { try FrechetDistance.distance(reference, i3d.statistics($0)) }
        } else {
            (reference, fvdReconstruction, fvdCopyLastFrame) = (nil, nil, nil)
        }
    }

    /// Refuses a generator or tokenizer other than the ones these clips were prepared for.
    func check(_ g: GeneratorConfig, tokenizer: TokenizerConfig) throws {
        let known = g.conditionFrames > 0 ? FramePrediction.givenFrames(generator: g, tokenizer: tokenizer) : 0
        let shape = [tokenizer.imageChannels, tokenizer.clipFrames, tokenizer.resolution, tokenizer.resolution]
        guard g.grid == grid, known == givenFrames, Array(real.shape.dropFirst()) == shape else {
            throw GeneratorError("the held-out clips were prepared for grid \(grid) with \(givenFrames) given frames and clips \(Array(real.shape.dropFirst())); this generator has grid \(g.grid) with \(known) given frames and its tokenizer clips \(shape)")
        }
    }

    /// FVD of `clips` (N, C, T, H, W) in [-1, 1] against the real clips; nil without an I3D.
    public func fvd(_ clips: Tensor) throws -> Double? {
        guard let i3d, let reference else { return nil }
        return try FrechetDistance.distance(reference, i3d.statistics(clips))
    }
}

extension I3D {
    /// Statistics of the I3D logits of clips (N, C, T, H, W) in [-1, 1], eight at a time.
    func statistics(_ clips: Tensor) throws -> FeatureStatistics {
        var s = try FeatureStatistics(dimension: I3D.classCount)
        let n = clips.size(0)
        for start in stride(from: 0, to: n, by: 8) { try s.add(features((clips.narrow(0, start: start, length: Swift.min(8, n - start)) + 1.0) / 2.0)) }
        return s
    }
}
