// TensorFlow 1's bilinear resize (tf.image.resize_bilinear, align_corners False, no half-pixel
// centres), which FID and FVD preprocessing are defined with: destination pixel j samples the source
// at j·in/out, edges clamped. As matrices, a resize is two matmuls that run on any device.
import Torch

public enum LegacyBilinear {
    /// Resizes the last two dims of `x` (…, H, W) to (height, width).
    public static func resize(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
        let rows = try matrix(from: x.size(x.rank - 2), to: height, device: x.device)
        let columns = try matrix(from: x.size(x.rank - 1), to: width, device: x.device)
        return try matmul(matmul(rows, x), columns.transpose(0, 1))
    }

    /// (to, from) weights along one axis.
    static func matrix(from n: Int, to m: Int, device: Device) throws -> Tensor {
        var weights = [Float](repeating: 0, count: m * n)
        let scale = Double(n) / Double(m)
        for j in 0..<m {
            let source = Double(j) * scale
            let i0 = min(Int(source.rounded(.down)), n - 1), i1 = min(i0 + 1, n - 1)
            let fraction = Float(source - Double(i0))
            weights[j * n + i0] += 1 - fraction
            weights[j * n + i1] += fraction
        }
        return try Tensor(weights, shape: [m, n], device: device)
    }
}
