// The Fréchet distance between Gaussians fitted to two feature sets (FID, FVD), in float64:
//   ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½
// The last trace equals tr (Σ₁Σ₂)^½ that scipy's sqrtm gives, but needs only symmetric
// eigendecompositions: it stays real and exact where Σ₁Σ₂ is singular (fewer samples than dims).
import Foundation
import NN
import Torch

/// Running mean and covariance of feature vectors, accumulated batch by batch in float64.
public struct FeatureStatistics {
    public private(set) var count = 0
    private var sum: Tensor
    private var products: Tensor
    public let dimension: Int

    public init(dimension: Int) throws {
        self.dimension = dimension
        sum = try Tensor.zeros([dimension], dtype: .float64)
        products = try Tensor.zeros([dimension, dimension], dtype: .float64)
    }

    /// Adds the rows of an (N, D) feature tensor.
    public mutating func add(_ features: Tensor) throws {
        guard features.rank == 2, features.size(1) == dimension else {
            throw TorchError(op: "feature statistics", message: "expected (N, \(dimension)) features, got \(features.shape)")
        }
        let f = try features.to(.float64, .cpu)
        sum = try sum + f.sum(dim: 0)
        products = try products + matmul(f.transpose(0, 1), f)
        count += features.size(0)
    }

    public var mean: Tensor {
        get throws { try sum / Double(max(count, 1)) }
    }

    /// The unbiased covariance (numpy.cov's default, as FID code uses).
    public var covariance: Tensor {
        get throws {
            guard count > 1 else {
                throw TorchError(op: "feature statistics", message: "a covariance needs at least 2 feature vectors, got \(count)")
            }
            let mu = try mean.reshape([-1, 1])
            return try (products - matmul(mu, mu.transpose(0, 1)) * Double(count)) / Double(count - 1)
        }
    }

    /// Saves count, mean and covariance (a reference-statistics cache).
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensors.write(["sum": sum, "products": products], metadata: metadata.merging(["count": String(count)]) { $1 }, to: url)
    }

    public static func load(_ url: URL) throws -> (statistics: FeatureStatistics, metadata: [String: String]) {
        let file = try SafeTensors.read(url)
        guard let sum = file.tensors["sum"], let products = file.tensors["products"], sum.rank == 1,
              products.shape == [sum.size(0), sum.size(0)], let count = Int(file.metadata["count"] ?? "") else {
            throw TorchError(op: "feature statistics", message: "\(url.path) is not a statistics file (sum, products, count)")
        }
        var s = try FeatureStatistics(dimension: sum.size(0))
        s.sum = try sum.to(.float64)
        s.products = try products.to(.float64)
        s.count = count
        return (s, file.metadata)
    }
}

public enum FrechetDistance {
    /// Distance between Gaussians with means (D) and covariances (D, D).
    public static func distance(mean1: Tensor, covariance1: Tensor, mean2: Tensor, covariance2: Tensor) throws -> Double {
        let (m1, m2) = (try mean1.to(.float64, .cpu), try mean2.to(.float64, .cpu))
        let (s1, s2) = (try covariance1.to(.float64, .cpu), try covariance2.to(.float64, .cpu))
        guard m1.shape == m2.shape, m1.rank == 1, s1.shape == [m1.size(0), m1.size(0)], s2.shape == s1.shape else {
            throw TorchError(op: "frechet distance", message: "means (D) and covariances (D, D) of one D expected, got \(m1.shape), \(s1.shape), \(m2.shape), \(s2.shape)")
        }
        let meanTerm = try (m1 - m2).square().sum().item()
        let root1 = try symmetricSquareRoot(s1)
        let inner = try matmul(matmul(root1, s2), root1)
        let symmetric = try (inner + inner.transpose(0, 1)) / 2.0
        let traceRoot = try rootSum(symmetricEigen(symmetric).values)
        return meanTerm + (try trace(s1)) + (try trace(s2)) - 2 * traceRoot
    }

    public static func distance(_ a: FeatureStatistics, _ b: FeatureStatistics) throws -> Double {
        try distance(mean1: a.mean, covariance1: a.covariance, mean2: b.mean, covariance2: b.covariance)
    }

    /// V diag(√λ) Vᵀ of a symmetric positive semi-definite matrix.
    static func symmetricSquareRoot(_ s: Tensor) throws -> Tensor {
        let (values, vectors) = try symmetricEigen(s)
        return try matmul(vectors * cleaned(values).sqrt().reshape([1, -1]), vectors.transpose(0, 1))
    }

    /// Eigenvalues with those at rounding-noise level (below D·1e-15 of the largest; with fewer
    /// samples than dimensions most are) set to zero: their square roots would otherwise add up to
    /// a visible error, e.g. a set against itself scoring -2e-4 instead of 0.
    static func cleaned(_ values: Tensor) throws -> Tensor {
        let largest = try values.abs().max().item()
        let floor = largest * Double(values.size(0)) * 1e-15
        return try which(values.gt(floor), values, Tensor.zerosLike(values))
    }

    static func rootSum(_ values: Tensor) throws -> Double {
        try cleaned(values).sqrt().sum().item()
    }

    static func trace(_ s: Tensor) throws -> Double {
        let n = s.size(0)
        let values = try s.toArray(Double.self)
        return stride(from: 0, to: n * n, by: n + 1).reduce(0) { $0 + values[$1] }
    }
}
