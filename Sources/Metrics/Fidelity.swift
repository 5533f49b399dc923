// Pixel fidelity: PSNR and SSIM (Wang et al. 2004, "Image quality assessment: from error visibility
// to structural similarity"), per frame.
import Foundation
import Torch

public enum Fidelity {
    /// PSNR in dB of each frame of (T, H, W, C) tensors in [0, 1]: 10·log10(1 / MSE).
    /// Identical frames give +infinity.
    public static func psnr(_ a: Tensor, _ b: Tensor) throws -> [Double] {
        let mse = try (a.to(.float64) - b.to(.float64)).square().mean([1, 2, 3]).toArray(Double.self)
        return mse.map { $0 == 0 ? .infinity : 10 * Foundation.log10(1 / $0) }
    }

    /// SSIM of each frame of (T, H, W, C) tensors in [0, 1] with Wang et al.'s settings: an 11×11
    /// Gaussian window of σ = 1.5, K1 = 0.01, K2 = 0.03, population covariances, averaged over the
    /// positions where the window fits and over channels (skimage's structural_similarity with
    /// gaussian_weights=True, use_sample_covariance=False, data_range=1).
    public static func ssim(_ a: Tensor, _ b: Tensor) throws -> [Double] {
        guard a.shape == b.shape, a.rank == 4 else {
            throw TorchError(op: "ssim", message: "expected two (T, H, W, C) tensors of one shape, got \(a.shape) and \(b.shape)")
        }
        let channels = a.size(3)
        guard a.size(1) >= 11, a.size(2) >= 11 else {
            throw TorchError(op: "ssim", message: "frames must be at least 11x11 for the 11x11 window, got \(a.size(1))x\(a.size(2))")
        }
        let x = try a.to(.float64).permute([0, 3, 1, 2])  // (T, C, H, W)
        let y = try b.to(.float64).permute([0, 3, 1, 2])
        let g = (0..<11).map { Foundation.exp(-Double(($0 - 5) * ($0 - 5)) / (2 * 1.5 * 1.5)) }
        let total = g.reduce(0, +)
        let window = try Tensor(g.flatMap { gi in g.map { gi * $0 / (total * total) } }, shape: [1, 1, 11, 11])
            .expand([channels, 1, 11, 11]).contiguous()
        func filter(_ t: Tensor) throws -> Tensor { try conv(t, weight: window, groups: channels) }
        let (mx, my) = (try filter(x), try filter(y))
        let vx = try filter(x * x) - mx * mx
        let vy = try filter(y * y) - my * my
        let cxy = try filter(x * y) - mx * my
        let (c1, c2) = (0.01 * 0.01, 0.03 * 0.03)
        let map = try ((mx * my * 2 + c1) * (cxy * 2 + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        return try map.mean([1, 2, 3]).toArray(Double.self)
    }
}
