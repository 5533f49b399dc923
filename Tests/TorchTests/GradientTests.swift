// Finite-difference gradient checks in float64 for every differentiable op family the package exposes.
import TestSupport
import Torch
import XCTest

final class GradientTests: XCTestCase {
    override func setUp() { Torch.manualSeed(7) }

    private func randn(_ shape: [Int]) throws -> Tensor { try Tensor.randn(shape, dtype: .float64) }
    /// Values away from 0 and from each other, so kinks (abs, relu, max) are not crossed by the perturbation.
    private func spread(_ shape: [Int]) throws -> Tensor {
        let n = shape.reduce(1, *)
        let values = (0..<n).map { i -> Double in
            let k = (i * 7) % n  // a scrambled order (7 is coprime with every size used here)
            return (k % 2 == 0 ? 1 : -1) * (0.3 + 0.17 * Double(k))
        }
        return try Tensor(values, shape: shape)
    }

    func testElementwise() throws {
        let x = try spread([2, 3])
        let positive = try x.abs() + 0.5
        for (name, f) in [
            ("neg", { (t: Tensor) throws -> Tensor in try t.neg() }), ("abs", { try $0.abs() }), ("exp", { try $0.exp() }),
            ("sin", { try $0.sin() }), ("cos", { try $0.cos() }), ("tanh", { try $0.tanh() }), ("sigmoid", { try $0.sigmoid() }),
            ("relu", { try $0.relu() }), ("gelu", { try $0.gelu() }), ("gelu_tanh", { try $0.gelu(approximate: true) }),
            ("silu", { try $0.silu() }), ("softplus", { try $0.softplus() }), ("leaky_relu", { try $0.leakyRelu(0.2) }),
            ("erf", { try $0.erf() }), ("square", { try $0.square() }), ("expm1", { try $0.expm1() }),
            ("logsigmoid", { try $0.logSigmoid() }), ("clamp", { try $0.clamp(min: -0.5, max: 0.9) }),
        ] as [(String, (Tensor) throws -> Tensor)] {
            try assertGradientsMatch([x], name) { try f($0[0]) }
        }
        for (name, f) in [
            ("log", { (t: Tensor) throws -> Tensor in try t.log() }), ("sqrt", { try $0.sqrt() }), ("rsqrt", { try $0.rsqrt() }),
            ("reciprocal", { try $0.reciprocal() }), ("log1p", { try $0.log1p() }), ("pow", { try $0.pow(1.7) }),
        ] as [(String, (Tensor) throws -> Tensor)] {
            try assertGradientsMatch([positive], name) { try f($0[0]) }
        }
        let y = try randn([3])
        try assertGradientsMatch([x, y]) { try $0[0] * $0[1] + $0[0] / ($0[1].abs() + 1) - $0[1] }
        try assertGradientsMatch([x, y]) { try $0[0].maximum($0[1]) + $0[0].minimum($0[1]) }
        try assertGradientsMatch([positive, y]) { try $0[0].pow($0[1]) }
        try assertGradientsMatch([x, y]) { try which($0[0].gt(0), $0[0], $0[1] * 3) }
    }

    func testReductions() throws {
        let x = try spread([2, 3, 4])
        try assertGradientsMatch([x]) { try $0[0].sum([1]) }
        try assertGradientsMatch([x]) { try $0[0].mean([0, 2], keepDim: true) }
        try assertGradientsMatch([x]) { try $0[0].max([2]) + $0[0].min([1]).sum() }
        try assertGradientsMatch([x]) { try $0[0].prod([2]) }
        try assertGradientsMatch([x]) { try $0[0].logSumExp([1]) }
        try assertGradientsMatch([x]) { try $0[0].variance([2]) + $0[0].std([0, 1], correction: 0).sum() }
        try assertGradientsMatch([x]) { try $0[0].softmax(dim: 1) }
        try assertGradientsMatch([x]) { try $0[0].logSoftmax(dim: -1) }
        try assertGradientsMatch([x]) { try $0[0].cumsum(dim: 2) }
        try assertGradientsMatch([x]) { try $0[0].topk(2, dim: 2).values }
        try assertGradientsMatch([x]) { try $0[0].sorted(dim: 1).values }
    }

    func testMatmulAndLinear() throws {
        try assertGradientsMatch([randn([2, 3, 4]), randn([4, 5])]) { try matmul($0[0], $0[1]) }
        try assertGradientsMatch([randn([3, 4]), randn([5, 4]), randn([5])]) { try linear($0[0], weight: $0[1], bias: $0[2]) }
    }

    func testConvolutionFamily() throws {
        try assertGradientsMatch([randn([1, 2, 5, 5]), randn([3, 2, 3, 3]), randn([3])]) {
            try conv($0[0], weight: $0[1], bias: $0[2], stride: [2], padding: [1])
        }
        try assertGradientsMatch([randn([1, 2, 3, 4, 4]), randn([2, 2, 2, 3, 3]), randn([2])]) {
            try conv($0[0], weight: $0[1], bias: $0[2], stride: [1, 2, 1], padding: [0, 1, 1])
        }
        try assertGradientsMatch([randn([1, 4, 5]), randn([4, 1, 3])]) { try conv($0[0], weight: $0[1], padding: [1], groups: 4) }
        try assertGradientsMatch([randn([1, 2, 3, 3]), randn([2, 3, 2, 2]), randn([3])]) {
            try convTranspose($0[0], weight: $0[1], bias: $0[2], stride: [2])
        }
        try assertGradientsMatch([randn([1, 2, 2, 3, 3]), randn([2, 1, 2, 2, 2])]) { try convTranspose($0[0], weight: $0[1], stride: [1, 2, 2]) }
        try assertGradientsMatch([spread([1, 2, 4, 4])]) { try avgPool($0[0], kernel: [2, 2]) + maxPool($0[0], kernel: [2, 2]) }
        try assertGradientsMatch([randn([1, 2, 2, 2, 2])]) { try avgPool($0[0], kernel: [1, 2, 2]) }
        try assertGradientsMatch([randn([1, 2, 3, 3])]) { try interpolate($0[0], size: [5, 4], mode: .linear) }
        try assertGradientsMatch([randn([1, 1, 2, 2, 2])]) { try interpolate($0[0], size: [3, 4, 4]) }
    }

    func testNormalisation() throws {
        try assertGradientsMatch([randn([2, 4, 3, 2]), randn([4]), randn([4])]) { try groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2]) }
        try assertGradientsMatch([randn([2, 4, 2, 2, 2])]) { try groupNorm($0[0], groups: 4, eps: 1e-6) }
        try assertGradientsMatch([randn([3, 5]), randn([5]), randn([5])]) { try layerNorm($0[0], normalizedShape: [5], weight: $0[1], bias: $0[2]) }
    }

    func testAttention() throws {
        let mask = try Tensor([true, false, true, true, true, true, false, true, true, true, true, true], shape: [3, 4])
        try assertGradientsMatch([randn([1, 2, 3, 4]), randn([1, 2, 4, 4]), randn([1, 2, 4, 4])]) {
            try scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: mask)
        }
        try assertGradientsMatch([randn([2, 3, 4]), randn([2, 3, 4]), randn([2, 3, 4])]) {
            try scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], causal: true, scale: 0.7)
        }
    }

    func testIndexingAndGather() throws {
        let x = try randn([3, 4])
        let index = try Tensor([Int64(2), 0, 2])
        try assertGradientsMatch([x]) { try $0[0].indexSelect(0, index) }
        try assertGradientsMatch([x]) { try $0[0].gather(1, Tensor([Int64(3), 1, 1, 0, 2, 2], shape: [3, 2])) }
        try assertGradientsMatch([x]) { try embedding(Tensor([Int64(1), 1, 2], shape: [3]), weight: $0[0]) }
        try assertGradientsMatch([x]) { try $0[0].maskedFill($0[0].gt(0.5), 0) }
        try assertGradientsMatch([x, randn([3, 1])]) { try $0[0].scatter(1, Tensor([Int64(2), 0, 1], shape: [3, 1]), $0[1]) }
        try assertGradientsMatch([x]) { try $0[0].select(1, 2) + $0[0].narrow(1, start: 1, length: 1).squeeze(1) }
    }

    func testShapeOperations() throws {
        let x = try randn([2, 3, 4])
        try assertGradientsMatch([x]) { try $0[0].reshape([4, 6]).permute([1, 0]).transpose(0, 1) }
        try assertGradientsMatch([x]) { try $0[0].flip([0, 2]).flatten(start: 1) }
        try assertGradientsMatch([x]) { try $0[0].pad([1, 2, 0, 1]) }
        try assertGradientsMatch([x]) { try $0[0].unsqueeze(0).pad([2, 0, 1, 1, 1, 0], mode: .replicate) }
        try assertGradientsMatch([x]) { try $0[0].pad([1, 1], mode: .reflect) }
        try assertGradientsMatch([x, randn([2, 1, 4])]) { try concatenate([$0[0], $0[1]], dim: 1) }
        try assertGradientsMatch([x, x]) { try stacked([$0[0], $0[1]], dim: 3) }
        try assertGradientsMatch([randn([2, 1, 4])]) { try $0[0].expand([2, 3, 4]) + $0[0].repeated([1, 3, 1]) }
        try assertGradientsMatch([x]) { try stacked($0[0].chunked(2, dim: 2), dim: 0) }
        try assertGradientsMatch([x]) { try $0[0].unsqueeze(1).squeeze(1).contiguous() }
    }

    func testLosses() throws {
        let x = try randn([4, 3])
        let t = try randn([4, 3])
        try assertGradientsMatch([x, t]) { try mseLoss($0[0], $0[1]) }
        try assertGradientsMatch([x, t]) { try l1Loss($0[0], $0[1], reduction: .sum) }
        try assertGradientsMatch([x]) { try crossEntropy($0[0], Tensor([Int64(0), 2, 1, 2]), labelSmoothing: 0.1) }
        let probabilities = try Tensor.rand([4, 3], dtype: .float64)
        try assertGradientsMatch([x]) { try binaryCrossEntropyWithLogits($0[0], probabilities) }
    }
}
