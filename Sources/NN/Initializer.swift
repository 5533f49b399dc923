// Parameter initialisers, with fans computed as PyTorch does (torch.nn.init).
import Torch

/// How a parameter's first values are drawn.
public enum Initializer: Sendable {
    case zeros
    case ones
    case constant(Double)
    case uniform(Double, Double)
    case normal(mean: Double, std: Double)
    /// Normal truncated to [mean - 2std, mean + 2std] by redrawing (ViT/MaskGIT embeddings).
    case truncatedNormal(std: Double)
    /// He et al. 2015 uniform with negative slope `a`; a = √5 is PyTorch's default for Linear and Conv weights.
    case kaimingUniform(a: Double)
    /// Glorot & Bengio 2010 uniform.
    case xavierUniform(gain: Double)
    /// U(-1/√fanIn, 1/√fanIn), PyTorch's default bias; the fan comes from the weight's shape.
    case fanInUniform(fanIn: Int)

    /// (fanIn, fanOut) of a weight shaped (out, in, kernel...).
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        guard shape.count >= 2 else { return (shape.first ?? 1, shape.first ?? 1) }
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    func make(_ shape: [Int], dtype: DType, device: Device) throws -> Tensor {
        let t = try Tensor.zeros(shape, dtype: dtype, device: device)
        switch self {
        case .zeros: break
        case .ones: try t.fill_(1)
        case .constant(let v): try t.fill_(v)
        case .uniform(let lo, let hi): try t.uniform_(lo, hi)
        case .normal(let mean, let std): try t.normal_(mean: mean, std: std)
        case .truncatedNormal(let std):
            try t.normal_(mean: 0, std: std)
            // Redraw the few values outside two standard deviations.
            for _ in 0..<8 {
                let outside = try t.abs().gt(2 * std)
                guard try outside.any().item() != 0 else { break }
                let fresh = try Tensor.randn(shape, dtype: dtype, device: device) * std
                try t.copy_(which(outside, fresh, t))
            }
            try t.copy_(t.clamp(min: -2 * std, max: 2 * std))
        case .kaimingUniform(let a):
            let gain = (2.0 / (1 + a * a)).squareRoot()
            let bound = gain * (3.0 / Double(Initializer.fans(shape).fanIn)).squareRoot()
            try t.uniform_(-bound, bound)
        case .xavierUniform(let gain):
            let f = Initializer.fans(shape)
            let bound = gain * (6.0 / Double(f.fanIn + f.fanOut)).squareRoot()
            try t.uniform_(-bound, bound)
        case .fanInUniform(let fanIn):
            let bound = fanIn > 0 ? 1 / Double(fanIn).squareRoot() : 0
            try t.uniform_(-bound, bound)
        }
        return t
    }
}
