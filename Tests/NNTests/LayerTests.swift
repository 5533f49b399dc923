// Layers, parameter naming, strict checkpoint loading, schedules and EMA.
import Foundation
import NN
import TestSupport
import Torch
import XCTest

final class LayerTests: XCTestCase {
    override func setUp() { Torch.manualSeed(11) }

    func testParametersAreNamedByPathAndDuplicatesFail() throws {
        let store = ParameterStore()
        let root = store.root
        _ = try Linear(root("encoder")("proj"), inputFeatures: 4, outputFeatures: 3)
        _ = try Conv(root("encoder")("conv")(0), inputChannels: 3, outputChannels: 8, kernelSize: [3, 3, 3], bias: false)
        _ = try GroupNorm(root("norm"), groups: 2, channels: 8)
        XCTAssertEqual(store.names, ["encoder.proj.weight", "encoder.proj.bias", "encoder.conv.0.weight", "norm.weight", "norm.bias"])
        XCTAssertEqual(store.parameterCount, 12 + 3 + 8 * 3 * 27 + 16)
        XCTAssertThrowsError(try Linear(root("encoder")("proj"), inputFeatures: 4, outputFeatures: 3)) {
            XCTAssertTrue("\($0)".contains("'encoder.proj.weight' is registered twice"), "\($0)")
        }
    }

    func testStrictLoadingNamesEveryProblem() throws {
        let store = ParameterStore()
        _ = try Linear(store.root("a"), inputFeatures: 2, outputFeatures: 2)
        let source: [String: Tensor] = ["a.weight": try Tensor.zeros([3, 2]), "b.extra": try Tensor.zeros([1])]
        XCTAssertThrowsError(try store.load(source)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing 1: a.bias"), text)
            XCTAssertTrue(text.contains("unexpected 1: b.extra"), text)
            XCTAssertTrue(text.contains("a.weight: expected [2, 2], found [3, 2]"), text)
        }
        let before = try store["a.bias"]!.toArray(Float.self)
        try store.load(["a.bias": Tensor([7, 8] as [Float])], strict: false)
        XCTAssertEqual(try store["a.bias"]!.toArray(Float.self), [7, 8])
        XCTAssertNotEqual(before, [7, 8])
    }

    func testCheckpointRoundTripAndMismatchedFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-ckpt-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("m.safetensors")
        let a = ParameterStore()
        let layer = try Linear(a.root("fc"), inputFeatures: 3, outputFeatures: 2)
        try a.save(to: url)
        let b = ParameterStore()
        let copy = try Linear(b.root("fc"), inputFeatures: 3, outputFeatures: 2)
        try b.load(from: url)
        let x = try Tensor.randn([4, 3])
        try assertClose(copy(x), layer(x), rtol: 0, atol: 0)
        let c = ParameterStore()
        _ = try Linear(c.root("fc"), inputFeatures: 5, outputFeatures: 2)
        XCTAssertThrowsError(try c.load(from: url)) { XCTAssertTrue("\($0)".contains("m.safetensors: checkpoint does not match"), "\($0)") }
    }

    func testDefaultInitialisationBoundsFollowPyTorch() throws {
        let store = ParameterStore()
        let layer = try Linear(store.root("fc"), inputFeatures: 400, outputFeatures: 300)
        // kaiming_uniform(a=√5) gives bound 1/√fan_in for the weight, and so does the bias default.
        let bound = 1 / 400.0.squareRoot()
        XCTAssertLessThanOrEqual(try layer.weight.abs().max().item(), bound)
        XCTAssertGreaterThan(try layer.weight.abs().max().item(), 0.95 * bound)
        XCTAssertEqual(try layer.weight.std().item(), bound / 3.0.squareRoot(), accuracy: 0.02 * bound)
        XCTAssertLessThanOrEqual(try layer.bias!.abs().max().item(), bound)
        let t = try ParameterStore().root.parameter("e", shape: [10_000], initializer: .truncatedNormal(std: 0.02))
        XCTAssertLessThanOrEqual(try t.abs().max().item(), 0.04 + 1e-7)
    }

    func testConvolutionShapes() throws {
        let store = ParameterStore()
        let down = try Conv(store.root("down"), inputChannels: 3, outputChannels: 8, kernelSize: [3, 3, 3], stride: [1, 2, 2], padding: [1])
        let y = try down(Tensor.randn([2, 3, 5, 16, 16]))
        XCTAssertEqual(y.shape, [2, 8, 5, 8, 8])
        let up = try ConvTranspose(store.root("up"), inputChannels: 8, outputChannels: 4, kernelSize: [4, 4], stride: [2], padding: [1])
        XCTAssertEqual(try up(Tensor.randn([1, 8, 6, 6])).shape, [1, 4, 12, 12])
        XCTAssertThrowsError(try Conv(store.root("bad"), inputChannels: 3, outputChannels: 8, kernelSize: [3], groups: 2))
    }

    func testMultiHeadAttentionMatchesExplicitFormula() throws {
        let store = ParameterStore(dtype: .float64)
        let attention = try MultiHeadAttention(store.root("attn"), dimensions: 8, heads: 2)
        let x = try Tensor.randn([2, 5, 8], dtype: .float64)
        let y = try attention(x)
        // softmax(QKᵀ/√d)V per head, written out.
        func heads(_ t: Tensor) throws -> Tensor { try t.reshape([2, 5, 2, 4]).transpose(1, 2) }
        let q = try heads(attention.query(x)), k = try heads(attention.key(x)), v = try heads(attention.value(x))
        let weights = try (matmul(q, k.transpose(2, 3)) / 2.0).softmax(dim: -1)
        let expected = try attention.output(matmul(weights, v).transpose(1, 2).reshape([2, 5, 8]))
        try assertClose(y, expected, rtol: 1e-10, atol: 1e-12)
        XCTAssertEqual(store.parameterCount, 4 * (64 + 8))
    }

    func testLayerNormEmbeddingDropout() throws {
        let store = ParameterStore()
        let norm = try LayerNorm(store.root("ln"), dimensions: 6)
        let y = try norm(Tensor.randn([3, 6]) * 5 + 2)
        try assertClose(y.mean(dim: -1), Tensor.zeros([3]), atol: 1e-5)
        try assertClose(y.variance([1], correction: 0), Tensor.ones([3]), rtol: 1e-3)
        let table = try Embedding(store.root("emb"), count: 10, dimensions: 4)
        let ids = try Tensor([Int64(3), 3, 9], shape: [1, 3])
        let rows = try table(ids)
        XCTAssertEqual(rows.shape, [1, 3, 4])
        try assertClose(rows.select(0, 0).select(0, 1), table.weight.select(0, 3), atol: 0)
        let drop = Dropout(0.5)
        let ones = try Tensor.ones([10_000])
        XCTAssertEqual(try drop(ones, training: false).toArray(Float.self), try ones.toArray(Float.self))
        let dropped = try drop(ones, training: true)
        XCTAssertEqual(try dropped.eq(0).to(.float32).mean().item(), 0.5, accuracy: 0.03)
        XCTAssertEqual(try dropped.max().item(), 2)
    }

    func testMovingTheStoreKeepsLayersWorking() throws {
        let store = ParameterStore()
        let layer = try Linear(store.root("fc"), inputFeatures: 3, outputFeatures: 2)
        try store.move(to: .cpu, dtype: .float64)
        XCTAssertEqual(layer.weight.dtype, .float64)
        XCTAssertTrue(layer.weight.requiresGrad)
        XCTAssertEqual(try layer(Tensor.randn([1, 3], dtype: .float64)).dtype, .float64)
    }

    /// A snapshot keeps its values when the live weights change: swapping in EMA weights for an
    /// evaluation and restoring the snapshot must give back the trained weights.
    func testSnapshotIsACopyThatRestoresTheWeights() throws {
        let store = ParameterStore()
        let layer = try Linear(store.root("fc"), inputFeatures: 3, outputFeatures: 2)
        let trained = try layer.weight.toArray(Float.self)
        let snapshot = try store.snapshot()
        let ema = try ExponentialMovingAverage(store.parameters, decay: 0.5)
        try withNoGrad { try layer.weight.copy_(Tensor.zeros([2, 3])) }
        XCTAssertEqual(try snapshot["fc.weight"]!.toArray(Float.self), trained, "the snapshot must not follow the live tensor")
        try ema.copy(into: store)
        try store.load(snapshot)
        XCTAssertEqual(try layer.weight.toArray(Float.self), trained)
    }

    func testWarmupCosineSchedule() {
        let s = WarmupCosine(peak: 1e-3, warmupSteps: 10, totalSteps: 110, floor: 1e-5)
        XCTAssertEqual(s(0), 1e-4, accuracy: 1e-12)
        XCTAssertEqual(s(9), 1e-3, accuracy: 1e-12)
        XCTAssertEqual(s(10), 1e-3, accuracy: 1e-12)
        XCTAssertEqual(s(60), 1e-5 + 0.5 * (1e-3 - 1e-5), accuracy: 1e-12)
        XCTAssertEqual(s(110), 1e-5, accuracy: 1e-12)
        XCTAssertGreaterThan(s(30), s(31))
    }

    func testEMAAndOptimizerStateRoundTrip() throws {
        let store = ParameterStore()
        let layer = try Linear(store.root("fc"), inputFeatures: 2, outputFeatures: 1)
        let ema = try ExponentialMovingAverage(store.parameters, decay: 0.9)
        let start = try layer.weight.detach().clone()
        let optimizer = AdamW(store.parameters, learningRate: 0.1)
        let x = try Tensor.randn([8, 2])
        for _ in 0..<3 {
            try optimizer.zeroGrad()
            try layer(x).square().mean().backward()
            try optimizer.update()
            try ema.update()
        }
        // After three updates the shadow is 0.9³ of the start plus 0.1·Σ 0.9^k of the later weights: strictly between.
        let shadow = try ema.shadow["fc.weight"]!
        XCTAssertFalse(try shadow.eq(start).all().item() != 0)
        XCTAssertFalse(try shadow.eq(layer.weight).all().item() != 0)
        let state = try optimizer.state()
        XCTAssertEqual(try state["step"]!.item(), 3)
        let restored = AdamW(store.parameters, learningRate: 0.1)
        try restored.load(state: state)
        XCTAssertEqual(restored.step, 3)
        try assertClose(restored.state()["fc.weight.exp_avg"]!, state["fc.weight.exp_avg"]!, atol: 0)
        XCTAssertThrowsError(try restored.load(state: ["step": Tensor(scalar: 1, dtype: .int64), "fc.weight.exp_avg": Tensor.zeros([5])]))
    }
}
