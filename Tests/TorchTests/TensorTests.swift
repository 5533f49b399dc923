// Tensor creation, data transfer, arithmetic, reductions, shapes and indexing against known values.
import TestSupport
import Torch
import XCTest

final class TensorTests: XCTestCase {
    func testRoundTripEveryDType() throws {
        let floats: [Float] = [1.5, -2.25, 0, 7]
        let t = try Tensor(floats, shape: [2, 2])
        XCTAssertEqual(t.shape, [2, 2])
        XCTAssertEqual(t.dtype, .float32)
        XCTAssertEqual(try t.toArray(Float.self), floats)
        XCTAssertEqual(try Tensor([1.0, 2.0] as [Double]).dtype, .float64)
        XCTAssertEqual(try Tensor([Int64.max, -3]).toArray(Int64.self), [Int64.max, -3])
        XCTAssertEqual(try Tensor([Int32(5), -6]).toArray(Int32.self), [5, -6])
        XCTAssertEqual(try Tensor([UInt8(255), 0]).toArray(UInt8.self), [255, 0])
        XCTAssertEqual(try Tensor([true, false, true]).toArray(Bool.self), [true, false, true])
        XCTAssertEqual(try Tensor([Float16(0.5), Float16(-1)]).toArray(Float16.self), [0.5, -1])
        // bfloat16 keeps 8 mantissa bits: 1 + 2^-7 survives, 1 + 2^-9 rounds to 1.
        let bf = try Tensor([1 + 1.0 / 128, 1 + 1.0 / 512] as [Double]).to(.bfloat16)
        XCTAssertEqual(bf.dtype, .bfloat16)
        XCTAssertEqual(try bf.toArray(Double.self), [1 + 1.0 / 128, 1])
        XCTAssertEqual(try bf.bytes().count, 4)
    }

    func testShapeMismatchOnCreationIsAnError() {
        XCTAssertThrowsError(try Tensor([1, 2, 3] as [Float], shape: [2, 2])) { error in
            XCTAssertTrue("\(error)".contains("needs 4 values"), "\(error)")
        }
    }

    func testArithmeticAndPromotion() throws {
        let a = try Tensor([1, 2, 3] as [Float])
        let b = try Tensor([10, 20, 30] as [Float])
        XCTAssertEqual(try (a + b * 2 - 1).toArray(Float.self), [20, 41, 62])
        XCTAssertEqual(try (1 - a).toArray(Float.self), [0, -1, -2])
        XCTAssertEqual(try (6 / a).toArray(Float.self), [6, 3, 2])
        XCTAssertEqual(try (-a).toArray(Float.self), [-1, -2, -3])
        XCTAssertEqual(try a.pow(2).toArray(Float.self), [1, 4, 9])
        let ids = try Tensor([Int64(3), 5])
        let shifted = try ids * 4 + 1
        XCTAssertEqual(shifted.dtype, .int64, "integer scalars keep integer tensors integer")
        XCTAssertEqual(try shifted.toArray(Int64.self), [13, 21])
        XCTAssertEqual(try ids.shiftedLeft(2).bitwiseOr(Tensor([Int64(1), 2])).toArray(Int64.self), [13, 22])
        XCTAssertEqual(try ids.shiftedRight(1).bitwiseAnd(1).toArray(Int64.self), [1, 0])
        // Broadcasting (2,1) with (3,) gives (2,3).
        let col = try Tensor([1, 2] as [Float], shape: [2, 1])
        XCTAssertEqual(try (col * a).toArray(Float.self), [1, 2, 3, 2, 4, 6])
        XCTAssertEqual(try which(a.gt(1.5), a, b).toArray(Float.self), [10, 2, 3])
        XCTAssertEqual(try a.clamp(min: 1.5, max: 2.5).toArray(Float.self), [1.5, 2, 2.5])
    }

    func testActivationsAgainstFormulas() throws {
        let xs: [Double] = [-2, -0.5, 0, 0.5, 3]
        let x = try Tensor(xs)
        func close(_ t: Tensor, _ f: (Double) -> Double, _ name: String) throws {
            try assertClose(t, Tensor(xs.map(f)), rtol: 1e-12, atol: 1e-12, name)
        }
        try close(x.sigmoid(), { 1 / (1 + Foundation.exp(-$0)) }, "sigmoid")
        try close(x.silu(), { $0 / (1 + Foundation.exp(-$0)) }, "silu")
        try close(x.relu(), { Swift.max($0, 0) }, "relu")
        try close(x.gelu(), { 0.5 * $0 * (1 + Foundation.erf($0 / 2.0.squareRoot())) }, "gelu")
        try close(x.softplus(), { Foundation.log(1 + Foundation.exp($0)) }, "softplus")
        try close(x.leakyRelu(0.2), { $0 > 0 ? $0 : 0.2 * $0 }, "leaky_relu")
        try close(x.tanh(), { Foundation.tanh($0) }, "tanh")
    }

    func testReductions() throws {
        let t = try Tensor([1, 2, 3, 4, 5, 6] as [Double], shape: [2, 3])
        XCTAssertEqual(try t.sum().item(), 21)
        XCTAssertEqual(try t.sum(dim: 0).toArray(Double.self), [5, 7, 9])
        XCTAssertEqual(try t.mean(dim: 1, keepDim: true).shape, [2, 1])
        XCTAssertEqual(try t.mean(dim: 1).toArray(Double.self), [2, 5])
        XCTAssertEqual(try t.max([1]).toArray(Double.self), [3, 6])
        XCTAssertEqual(try t.min().item(), 1)
        XCTAssertEqual(try t.prod([1]).toArray(Double.self), [6, 120])
        XCTAssertEqual(try t.argmax(dim: 1).toArray(Int64.self), [2, 2])
        XCTAssertEqual(try t.variance([1]).toArray(Double.self), [1, 1])
        XCTAssertEqual(try t.variance(correction: 0).item(), 35.0 / 12, accuracy: 1e-12)
        let lse = [1.0, 4.0].map { Foundation.log(Foundation.exp($0) + Foundation.exp($0 + 1) + Foundation.exp($0 + 2)) }
        try assertClose(t.logSumExp([1]), Tensor(lse), rtol: 1e-12)
        try assertClose(t.softmax(dim: 1).sum(dim: 1), Tensor([1, 1] as [Double]), rtol: 1e-12)
        XCTAssertEqual(try t.cumsum(dim: 1).toArray(Double.self), [1, 3, 6, 4, 9, 15])
        XCTAssertEqual(try t.gt(3).any().item(), 1)
        XCTAssertEqual(try t.gt(3).all([1]).toArray(Bool.self), [false, true])
        let (values, indices) = try Tensor([3, 1, 4, 1, 5] as [Float]).topk(2)
        XCTAssertEqual(try values.toArray(Float.self), [5, 4])
        XCTAssertEqual(try indices.toArray(Int64.self), [4, 2])
        XCTAssertEqual(try Tensor([3, 1, 2] as [Float]).sorted().indices.toArray(Int64.self), [1, 2, 0])
    }

    func testShapesAndIndexing() throws {
        let t = try Tensor.arange(0, 24, dtype: .float32).reshape([2, 3, 4])
        XCTAssertEqual(try t.permute([2, 0, 1]).shape, [4, 2, 3])
        XCTAssertEqual(try t.transpose(0, 2).contiguous().toArray(Float.self)[1], 12)
        XCTAssertEqual(try t.flatten(start: 1).shape, [2, 12])
        XCTAssertEqual(try t.unsqueeze(0).squeeze(0).shape, [2, 3, 4])
        XCTAssertEqual(try t.narrow(2, start: 1, length: 2).shape, [2, 3, 2])
        XCTAssertEqual(try t.select(1, 2).toArray(Float.self), [8, 9, 10, 11, 20, 21, 22, 23])
        XCTAssertEqual(try t.flip([2]).select(0, 0).select(0, 0).toArray(Float.self), [3, 2, 1, 0])
        XCTAssertEqual(try concatenate([t, t], dim: 1).shape, [2, 6, 4])
        XCTAssertEqual(try stacked([t, t], dim: 0).shape, [2, 2, 3, 4])
        XCTAssertEqual(try t.split(3, dim: 2).map(\.shape), [[2, 3, 3], [2, 3, 1]])
        XCTAssertEqual(try t.expand([5, 2, 3, 4]).shape, [5, 2, 3, 4])
        XCTAssertEqual(try t.repeated([1, 2, 1]).shape, [2, 6, 4])
        let row = try Tensor([1, 2] as [Float], shape: [1, 1, 2])
        XCTAssertEqual(try row.pad([1, 2]).toArray(Float.self), [0, 1, 2, 0, 0])
        XCTAssertEqual(try row.pad([2, 0], mode: .replicate).toArray(Float.self), [1, 1, 1, 2])
        let index = try Tensor([Int64(2), 0])
        XCTAssertEqual(try t.indexSelect(1, index).select(0, 0).select(1, 0).toArray(Float.self), [8, 0])
        let g = try Tensor([Int64(3), 0, 1], shape: [1, 3])
        XCTAssertEqual(try t.select(0, 0).narrow(0, start: 0, length: 1).gather(1, g).toArray(Float.self), [3, 0, 1])
        XCTAssertEqual(try Tensor([Int64(2), 0]).oneHot(3).toArray(Int64.self), [0, 0, 1, 1, 0, 0])
        let mask = try Tensor([true, false, true])
        XCTAssertEqual(try Tensor([1, 2, 3] as [Float]).maskedFill(mask, -1).toArray(Float.self), [-1, 2, -1])
        let scattered = try Tensor.zeros([4]).scatter(0, Tensor([Int64(3), 1]), Tensor([5, 6] as [Float]))
        XCTAssertEqual(try scattered.toArray(Float.self), [0, 6, 0, 5])
    }

    func testSeedingIsDeterministic() throws {
        Torch.manualSeed(42)
        let a = try Tensor.randn([8]).toArray(Float.self)
        let i = try Tensor.randint(0, 1000, [4]).toArray(Int64.self)
        Torch.manualSeed(42)
        XCTAssertEqual(try Tensor.randn([8]).toArray(Float.self), a)
        XCTAssertEqual(try Tensor.randint(0, 1000, [4]).toArray(Int64.self), i)
        let u = try Tensor.rand([10_000])
        XCTAssertEqual(try u.mean().item(), 0.5, accuracy: 0.02)
        XCTAssertGreaterThanOrEqual(try u.min().item(), 0)
        XCTAssertLessThan(try u.max().item(), 1)
    }

    func testRuntimeFacts() throws {
        XCTAssertTrue(Torch.version.hasPrefix("2."), Torch.version)
        let previous = Torch.threads
        Torch.threads = 1
        XCTAssertEqual(Torch.threads, 1)
        Torch.threads = previous
        XCTAssertEqual(try Device(parsing: "cuda:1"), .cuda(1))
        XCTAssertThrowsError(try Device(parsing: "tpu"))
        XCTAssertEqual(try Tensor.zeros([2]).device, .cpu)
    }

    func testGridSampleReadsWhereTheGridPoints() throws {
        // An identity grid (pixel centres, align_corners false) gives the input back; a grid shifted by
        // one pixel reads the neighbour; outside the input, reflection mirrors it.
        let x = try Tensor.arange(0, 12, dtype: .float32).reshape([1, 1, 3, 4])
        var grid: [Float] = []
        for i in 0..<3 { for j in 0..<4 { grid += [Float(2 * j + 1) / 4 - 1, Float(2 * i + 1) / 3 - 1] } }
        let identity = try Tensor(grid, shape: [1, 3, 4, 2])
        XCTAssertLessThan(try (gridSample(x, grid: identity) - x).abs().max().item(), 1e-5)
        let shifted = try identity + Tensor([Float(0.5), 0], shape: [2])
        let right = try gridSample(x, grid: shifted, padding: .reflection).reshape([3, 4])
        let expected = try Tensor([Float(1), 2, 3, 3, 5, 6, 7, 7, 9, 10, 11, 11], shape: [3, 4])
        XCTAssertLessThan(try (right - expected).abs().max().item(), 1e-5)
        XCTAssertThrowsError(try gridSample(x, grid: Tensor.zeros([1, 3, 4, 3]))) { XCTAssertTrue("\($0)".contains("grid (N, H', W', 2)"), "\($0)") }
    }
}
