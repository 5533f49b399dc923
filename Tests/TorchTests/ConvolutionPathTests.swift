// Batch-1 CPU conv3d on small inputs goes to oneDNN (Torch.directOneDNNConv3d) and agrees with
// libtorch's native kernel, forward and backward.
import TestSupport
import Torch
import XCTest

final class ConvolutionPathTests: XCTestCase {
    func testSmallBatchOneConv3dUsesOneDNNAndMatchesTheNativeKernel() throws {
        defer { Torch.directOneDNNConv3d = true }
        Torch.manualSeed(3)
        let x = try Tensor.randn([1, 16, 5, 8, 8])  // C·T·H = 640: libtorch would take its native kernel
        let w = try Tensor.randn([8, 16, 3, 3, 3]), b = try Tensor.randn([8])
        func run(direct: Bool) throws -> (y: Tensor, grad: Tensor, ops: [String]) {
            Torch.directOneDNNConv3d = direct
            let xg = try x.detach().requiresGrad(true)
            let (y, ops) = try Profiler.profile { try conv(xg, weight: w, bias: b, padding: [0, 1, 1]) }
            try y.square().sum().backward()
            return (y, try xg.grad!, ops.map(\.name))
        }
        let direct = try run(direct: true), native = try run(direct: false)
        XCTAssertTrue(direct.ops.contains("aten::mkldnn_convolution"), "\(direct.ops)")
        XCTAssertFalse(direct.ops.contains { $0.hasPrefix("aten::slow_conv3d") }, "\(direct.ops)")
        XCTAssertTrue(native.ops.contains { $0.hasPrefix("aten::slow_conv3d") }, "\(native.ops)")
        XCTAssertEqual(direct.y.shape, [1, 8, 3, 8, 8])
        XCTAssertLessThan(try (direct.y - native.y).abs().max().item(), 1e-4)
        XCTAssertLessThan(try (direct.grad - native.grad).abs().max().item(), 1e-3)

        // A batch of 2 is libtorch's oneDNN call either way.
        Torch.directOneDNNConv3d = false
        let (_, batched) = try Profiler.profile { try conv(try Tensor.randn([2, 16, 5, 8, 8]), weight: w, padding: [0, 1, 1]) }
        XCTAssertTrue(batched.contains { $0.name == "aten::mkldnn_convolution" })
    }
}
