// libtorch failures arrive as thrown TorchErrors carrying the op and libtorch's message; none crashes.
import Foundation
@testable import Torch
import XCTest

final class ErrorTests: XCTestCase {
    private func assertTorchError(_ op: String, _ fragment: String, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard let e = error as? TorchError else { return XCTFail("not a TorchError: \(error)", line: line) }
            XCTAssertEqual(e.op, op, "\(e)", line: line)
            XCTAssertTrue(e.message.lowercased().contains(fragment.lowercased()), "\(e)", line: line)
            XCTAssertFalse(e.message.contains("Exception raised from"), "backtrace leaked: \(e)", line: line)
        }
    }

    func testShapeErrors() throws {
        let a = try Tensor.zeros([2, 3])
        let b = try Tensor.zeros([4, 5])
        assertTorchError("matmul", "cannot be multiplied") { _ = try matmul(a, b) }
        assertTorchError("add", "must match") { _ = try a + b }
        assertTorchError("reshape", "invalid for input of size") { _ = try a.reshape([5]) }
        assertTorchError("cat", "sizes of tensors must match") { _ = try concatenate([a, b], dim: 0) }
        assertTorchError("conv3d", "expected a 5-d input") {
            _ = try conv(a, weight: Tensor.zeros([1, 1, 3, 3, 3]))
        }
        assertTorchError("conv2d", "expected") {
            _ = try conv(Tensor.zeros([1, 3, 8, 8]), weight: Tensor.zeros([4, 2, 3, 3]))
        }
        assertTorchError("group_norm", "divisible") { _ = try groupNorm(Tensor.zeros([1, 6, 4]), groups: 4) }
    }

    func testDTypeAndIndexErrors() throws {
        let t = try Tensor.zeros([3, 4])
        assertTorchError("index_select", "index") { _ = try t.indexSelect(0, Tensor([0.5] as [Float])) }
        assertTorchError("select", "out of range") { _ = try t.select(0, 7) }
        assertTorchError("embedding", "index out of range") { _ = try embedding(Tensor([Int64(9)]), weight: t) }
        assertTorchError("cross_entropy", "target") { _ = try crossEntropy(t, Tensor([Int64(5), 0, 1])) }
        assertTorchError("bitwise_and", "not implemented") { _ = try t.bitwiseAnd(t) }
        assertTorchError("matmul", "dtype") { _ = try matmul(t, Tensor.zeros([4, 2], dtype: .float64)) }
    }

    func testUnknownDTypeCodesAreErrors() throws {
        // -1 is the shim's code for a libtorch type it does not map; 8 is past the end of its list.
        assertTorchError("dtype", "element type code -1 is none of") { _ = try DType(code: -1) }
        assertTorchError("dtype", "element type code 8 is none of") { _ = try DType(code: 8) }
        for dtype in DType.allCases { XCTAssertEqual(try DType(code: dtype.code), dtype) }
        XCTAssertEqual(DType.allCases.map(\.name), ["float32", "float64", "bfloat16", "float16", "int64", "int32", "uint8", "bool"])
        let encoded = try JSONEncoder().encode([DType.bfloat16])
        XCTAssertEqual(String(decoding: encoded, as: UTF8.self), #"["bfloat16"]"#)
        XCTAssertEqual(try JSONDecoder().decode([DType].self, from: encoded), [.bfloat16])
        XCTAssertThrowsError(try JSONDecoder().decode([DType].self, from: Data(#"["float8"]"#.utf8)))
    }

    /// Asking for a CUDA device this process does not have is one line naming libtorch's version,
    /// its build and the devices found, from `checkAvailable` and from any op given the device
    /// (not the dispatcher's table of backends).
    func testMissingCUDADeviceIsOneClearLine() throws {
        XCTAssertNoThrow(try Device.cpu.checkAvailable())
        let count = Torch.cudaDeviceCount
        let missing = Device.cuda(count)
        let expected = "\(missing) requested, but this libtorch \(Torch.version) ("
        assertTorchError("device", expected) { try missing.checkAvailable() }
        assertTorchError("full", expected) { _ = try Tensor.zeros([2], device: missing) }
        assertTorchError("to", expected) { _ = try Tensor.zeros([2]).to(missing) }
        assertTorchError("random", expected) { _ = try Tensor.randn([2], device: missing) }
        do {
            try missing.checkAvailable()
        } catch {
            XCTAssertFalse(error.message.contains("\n"), error.message)
            XCTAssertFalse(error.message.contains("Could not run"), error.message)
            if count == 0 {
                let build = Torch.cudaVersion.map { "CUDA \($0) build" } ?? "CPU build"
                XCTAssertEqual(
                    error.message, "cuda:0 requested, but this libtorch \(Torch.version) (\(build)) found no CUDA device; use --device cpu")
            }
            print("on this machine: \(error)")
        }
    }

    func testAutogradAndMemoryErrors() throws {
        let x = try Tensor.ones([3]).requiresGrad(true)
        let y = try x * 2
        assertTorchError("backward", "grad can be implicitly created only for scalar outputs") { try y.backward() }
        let z = try (x * x).sum()
        try z.backward()
        assertTorchError("backward", "second time") { try z.backward() }
        // Four petabytes: libtorch's allocator refuses and the process lives on.
        assertTorchError("full", "memory") { _ = try Tensor.zeros([1 << 50]) }
        // The process is still healthy after every failure above.
        XCTAssertEqual(try (Tensor.ones([2]) + 1).toArray(Float.self), [2, 2])
    }
}
