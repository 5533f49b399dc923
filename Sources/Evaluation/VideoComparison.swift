// Fidelity of a decoded video against its reference, as codec studies report it: per frame PSNR of
// RGB and of luma (Y = 0.299 R + 0.587 G + 0.114 B on 8-bit levels, BT.601 full range, computed from
// both videos' RGB), SSIM, MS-SSIM (frames above 160 pixels a side), LPIPS (AlexNet, shift-tolerant);
// and the I3D features of consecutive 16-frame windows, so FVD can be pooled over many clips.
import Foundation
import Media
import Metrics
import Torch

public final class VideoComparison {
    public struct Scores: Codable, Sendable {
        public var frames: Int
        public var psnr: Double
        public var psnrY: Double
        public var ssim: Double
        public var msSSIM: Double?
        public var lpips: Double?
    }

    public struct Result {
        public var scores: Scores
        /// I3D features (1, 400) of each 16-frame window: (reference, distorted).
        public var windows: [(Tensor, Tensor)]
    }

    let lpips: LPIPS?
    let i3d: I3D?
    let device: Device
    /// I3D features of each reference's windows, computed once (a study compares one reference with
    /// many decodings).
    private var referenceWindows: [String: [Tensor]] = [:]

    public init(lpips: Bool = true, fvd: Bool = true, device: Device = .cpu) throws {
        self.device = device
        self.lpips = lpips ? try LPIPS(weights: LPIPS.defaultWeights(.alex), device: device) : nil
        i3d = fvd ? try I3D(weights: I3D.defaultWeights(), device: device) : nil
    }

    /// Compares the first `maxFrames` frames (all by default) of two videos of one size.
    public func compare(reference: String, distorted: String, maxFrames: Int? = nil) throws -> Result {
        let options = ReadOptions(maxFrames: maxFrames)
        let a = try VideoReader(path: reference, options: options), b = try VideoReader(path: distorted, options: options)
        guard a.width == b.width, a.height == b.height else {
            throw EvaluationError("\(distorted) is \(b.width)x\(b.height), its reference \(reference) is \(a.width)x\(a.height)")
        }
        var psnr: [Double] = [], psnrY: [Double] = [], ssim: [Double] = [], msssim: [Double] = [], perceptual: [Double] = []
        var windows: [(Tensor, Tensor)] = []
        let n = I3D.clipFrames
        let luma = try Tensor([0.299, 0.587, 0.114] as [Float], shape: [1, 1, 1, 3])
        while let x = try a.read(n) {
            guard let y = try b.read(x.size(0)), y.size(0) == x.size(0) else {
                throw EvaluationError("\(distorted) has fewer frames than its reference \(reference)")
            }
            let (r, d) = (try (x * 255).round() / 255, try (y * 255).round() / 255)  // 8-bit levels, as viewed
            psnr += try Fidelity.psnr(d, r)
            psnrY += try Fidelity.psnr((d * luma).sum([3], keepDim: true), (r * luma).sum([3], keepDim: true))
            ssim += try Fidelity.ssim(d, r)
            if Swift.min(a.width, a.height) > 160 { msssim += try Fidelity.msssim(d, r) }
            let (rc, dc) = (try r.permute([0, 3, 1, 2]).contiguous(), try d.permute([0, 3, 1, 2]).contiguous())  // (T, 3, H, W)
            if let lpips {
                perceptual += try withNoGrad { try lpips((rc * 2 - 1).to(device), (dc * 2 - 1).to(device)) }.to(.float64, .cpu).toArray(Double.self)
            }
            if let i3d, x.size(0) == n {
                func features(_ frames: Tensor) throws -> Tensor {  // (T, H, W, 3) → (1, 400)
                    try withNoGrad { try i3d.features(frames.permute([3, 0, 1, 2]).unsqueeze(0).to(device)) }.to(.cpu)
                }
                let known = referenceWindows[reference, default: []]
                let original = windows.count < known.count ? known[windows.count] : try features(r)
                if windows.count >= known.count { referenceWindows[reference, default: []].append(original) }
                windows.append((original, try features(d)))
            }
        }
        try a.checkComplete()
        if try b.read(1) != nil, maxFrames == nil { throw EvaluationError("\(distorted) has more frames than its reference \(reference)") }
        guard !psnr.isEmpty else { throw EvaluationError("\(reference): no frames") }
        func mean(_ v: [Double]) -> Double { v.map { Swift.min($0, 100) }.reduce(0, +) / Double(v.count) }
        let scores = Scores(frames: psnr.count, psnr: mean(psnr), psnrY: mean(psnrY), ssim: mean(ssim),
                            msSSIM: msssim.isEmpty ? nil : mean(msssim), lpips: perceptual.isEmpty ? nil : mean(perceptual))
        return Result(scores: scores, windows: windows)
    }

    /// FVD between the reference and distorted windows of many comparisons (nil below 2 windows).
    public static func fvd(_ windows: [(Tensor, Tensor)]) throws -> Double? {
        guard windows.count >= 2 else { return nil }
        var stats = (try FeatureStatistics(dimension: I3D.classCount), try FeatureStatistics(dimension: I3D.classCount))
        for (r, d) in windows {
            try stats.0.add(r)
            try stats.1.add(d)
        }
        return try FrechetDistance.distance(stats.0, stats.1)
    }
}
