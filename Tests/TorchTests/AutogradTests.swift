// Autograd behaviour: accumulation, no-grad scopes, higher-order gradients and autocast.
import TestSupport
import Torch
import XCTest

final class AutogradTests: XCTestCase {
    func testBackwardAccumulatesAndClears() throws {
        let x = try Tensor([1, 2, 3] as [Double]).requiresGrad(true)
        try (x * x).sum().backward()
        XCTAssertEqual(try x.grad!.toArray(Double.self), [2, 4, 6])
        try (x * 3).sum().backward()
        XCTAssertEqual(try x.grad!.toArray(Double.self), [5, 7, 9])
        try x.zeroGrad()
        XCTAssertNil(try x.grad, "no gradient is nil, not an error")
    }

    func testNoGradScopeRecordsNothing() throws {
        let x = try Tensor.ones([2]).requiresGrad(true)
        let y = try withNoGrad { try x * 2 }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertTrue(try (x * 2).requiresGrad, "the previous mode is restored")
        XCTAssertThrowsError(try withNoGrad { () throws in throw TorchError(op: "test", message: "boom") })
        XCTAssertTrue(try (x * 2).requiresGrad, "restored after a throw")
    }

    func testSecondOrderGradients() throws {
        // d/dx of (d/dx x^3) = 6x.
        let x = try Tensor([0.5, -2] as [Double]).requiresGrad(true)
        let first = try gradients(of: [x.pow(3).sum()], wrt: [x], createGraph: true)[0]!
        try assertClose(first, Tensor([0.75, 12] as [Double]), rtol: 1e-12)
        let second = try gradients(of: [first.sum()], wrt: [x])[0]!
        try assertClose(second, Tensor([3, -12] as [Double]), rtol: 1e-12)
        let unused = try Tensor.ones([1]).requiresGrad(true)
        XCTAssertNil(try gradients(of: [x.sum()], wrt: [unused])[0])
    }

    func testAutocastRunsMatmulInBFloat16AndRestores() throws {
        let a = try Tensor.randn([4, 4])
        let inside = try withAutocast(device: .cpu, dtype: .bfloat16) { try matmul(a, a) }
        XCTAssertEqual(inside.dtype, .bfloat16)
        XCTAssertEqual(try matmul(a, a).dtype, .float32)
        // Reductions that autocast keeps in float32 stay float32.
        let kept = try withAutocast(device: .cpu) { try a.softmax(dim: 0) }
        XCTAssertEqual(kept.dtype, .float32)
    }
}
