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
        guard a.size(1) >= 11, a.size(2) >= 11 else {
            throw TorchError(op: "ssim", message: "frames must be at least 11x11 for the 11x11 window, got \(a.size(1))x\(a.size(2))")
        }
        let x = try a.to(.float64).permute([0, 3, 1, 2])  // (T, C, H, W)
        let y = try b.to(.float64).permute([0, 3, 1, 2])
        return try structure(x, y).ssim.mean([1, 2, 3]).toArray(Double.self)
    }

    /// MS-SSIM (Wang, Simoncelli & Bovik 2003) of each frame of (T, H, W, C) tensors in [0, 1]:
    /// five scales with weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333), contrast-structure at the
    /// four finer scales and SSIM at the coarsest, 2×2 average pooling between scales, negative
    /// terms clamped to zero (as pytorch-msssim). Frames must be larger than 160 pixels a side.
    public static func msssim(_ a: Tensor, _ b: Tensor) throws -> [Double] {
        guard a.shape == b.shape, a.rank == 4 else {
            throw TorchError(op: "ms_ssim", message: "expected two (T, H, W, C) tensors of one shape, got \(a.shape) and \(b.shape)")
        }
        guard Swift.min(a.size(1), a.size(2)) > 160 else {
            throw TorchError(op: "ms_ssim", message: "frames must be larger than 160 pixels a side for 5 scales, got \(a.size(1))x\(a.size(2))")
        }
        let weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
        var x = try a.to(.float64).permute([0, 3, 1, 2])
        var y = try b.to(.float64).permute([0, 3, 1, 2])
        var product = try Tensor.ones([a.size(0), a.size(3)], dtype: .float64)
        for (level, weight) in weights.enumerated() {
            let s = try structure(x, y)
            let last = level == weights.count - 1
            let term = try (last ? s.ssim : s.contrastStructure).mean([2, 3]).relu()  // (T, C)
            product = try product * term.pow(weight)
            if !last {
                let pad = [x.size(2) % 2, x.size(3) % 2]
                x = try avgPool(x, kernel: [2, 2], stride: [2, 2], padding: pad)
                y = try avgPool(y, kernel: [2, 2], stride: [2, 2], padding: pad)
            }
        }
        return try product.mean(dim: 1).toArray(Double.self)
    }

    /// SSIM and contrast-structure maps of (T, C, H, W) float64 tensors with an 11×11, σ = 1.5
    /// Gaussian window, computed where the window fits.
    private static func structure(_ x: Tensor, _ y: Tensor) throws -> (ssim: Tensor, contrastStructure: Tensor) {
        let channels = x.size(1)
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
        let contrastStructure = try (cxy * 2 + c2) / (vx + vy + c2)
        let luminance = try (mx * my * 2 + c1) / (mx * mx + my * my + c1)
        return (try luminance * contrastStructure, contrastStructure)
    }
}
