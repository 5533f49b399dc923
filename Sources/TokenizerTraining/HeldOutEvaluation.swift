// Scoring a tokenizer on held-out clips during and after training: PSNR and SSIM per frame (the
// papers' averaging), the block-mean floor's PSNR on the same frames (the trivial codec at the same
// bits, which a tokenizer must beat), codebook usage and perplexity over all tokens; and sample grids.
import Foundation
import Metrics
import Tokenizer
import Torch

/// Mean fidelity and vocabulary use over a held-out set.
public struct HeldOutScores: Codable, Sendable {
    public var samples: Int
    public var frames: Int
    public var psnr: Double
    public var ssim: Double
    public var codesUsed: Int
    public var codebookSize: Int
    public var usage: Double
    public var perplexity: Double
    /// PSNR of `BlockMeanCodec` at the model's bits on the same frames (nil in files written before it).
    public var floorPSNR: Double?

    public var summary: String {
        String(format: "%d clips (%d frames): PSNR %.2f dB, SSIM %.4f, codebook usage %d of %d (%.1f%%), perplexity %.1f",
               samples, frames, psnr, ssim, codesUsed, codebookSize, usage * 100, perplexity)
            + (floorPSNR.map { String(format: "; block-mean floor %.2f dB", $0) } ?? "")
    }

    /// The scores as a log record (snake_case keys, as every record of a run).
    public func record() throws -> [String: Any] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try JSONSerialization.jsonObject(with: encoder.encode(self)) as? [String: Any] ?? [:]
    }
}

public enum HeldOutEvaluation {
    /// Reconstructs `clips` (N, C, T, S, S) in [-1, 1] in batches of `batch` without gradients.
    public static func score(_ model: VideoTokenizer, clips: Tensor, batch: Int) throws -> HeldOutScores {
        let n = clips.size(0)
        var psnr: [Double] = [], ssim: [Double] = [], floor: [Double] = []
        let blockMean = BlockMeanCodec(matching: model.config)
        var counts = try Tensor.zeros([model.config.quantizer.codebookSize], dtype: .int64)
        try withNoGrad {
            var start = 0
            while start < n {
                let x = try clips.narrow(0, start: start, length: Swift.min(batch, n - start)).to(model.device)
                let tokens = try model.encode(x)
                let y = try model.decode(tokens).to(.float32, .cpu)
                counts = try counts + tokens.to(.cpu).flatten().bincount(minLength: counts.count)
                let (a, b) = (try frames(x.to(.cpu)), try frames(y))
                psnr += try Fidelity.psnr(a, b).map { Swift.min($0, 100) }
                let t = x.size(2)
                for i in 0..<x.size(0) {  // the floor clip by clip: its first frame is coded alone, as the tokenizer's
                    let original = try a.narrow(0, start: i * t, length: t)
                    floor += try Fidelity.psnr(original, blockMean.reconstruct(original)).map { Swift.min($0, 100) }
                }
                ssim += try Fidelity.ssim(a, b)
                start += batch
            }
        }
        let usage = try CodebookUsage(counts: counts)
        return HeldOutScores(samples: n, frames: psnr.count, psnr: psnr.reduce(0, +) / Double(psnr.count),
                             ssim: ssim.reduce(0, +) / Double(ssim.count), codesUsed: usage.used, codebookSize: usage.codebookSize,
                             usage: usage.fraction, perplexity: usage.perplexity, floorPSNR: floor.reduce(0, +) / Double(floor.count))
    }

    /// Clips (B, C, T, H, W) in [-1, 1] as frames (B·T, H, W, 3) in [0, 1] (grey repeated to RGB).
    static func frames(_ clips: Tensor) throws -> Tensor {
        var x = try ((clips.to(.float32) + 1) / 2).clamp(min: 0, max: 1).permute([0, 2, 3, 4, 1])  // (B, T, H, W, C)
        x = try x.reshape([x.size(0) * x.size(1), x.size(2), x.size(3), x.size(4)])
        return x.size(3) == 1 ? try x.expand([x.size(0), x.size(1), x.size(2), 3]) : x
    }

    /// A grid (H, W, 3) in [0, 1] of originals above their reconstructions: images as one pair of rows
    /// of up to 8 each; clips as one pair of rows per clip (up to 3 clips), up to 8 frames evenly spaced.
    public static func grid(_ model: VideoTokenizer, clips: Tensor) throws -> Tensor {
        let video = clips.size(2) > 1
        let count = Swift.min(clips.size(0), video ? 3 : 8)
        let x = try clips.narrow(0, start: 0, length: count).to(model.device)
        let y = try withNoGrad { try model.decode(model.encode(x)).to(.float32, .cpu) }
        let (a, b) = (try frames(x.to(.cpu)), try frames(y))  // (count·T, S, S, 3)
        let t = clips.size(2)
        let columns = video ? Swift.min(8, t) : count
        let picks = video ? (0..<columns).map { $0 * (t - 1) / Swift.max(columns - 1, 1) } : Array(0..<count)
        var rows: [Tensor] = []
        for r in 0..<(video ? count : 1) {
            for source in [a, b] {
                let tiles = try picks.map { try source.select(0, video ? r * t + $0 : $0).pad([0, 0, 1, 1, 1, 1], value: 1) }
                rows.append(try concatenate(tiles, dim: 1))
            }
        }
        return try concatenate(rows, dim: 0)  // (rows·(S+2), columns·(S+2), 3)
    }
}
