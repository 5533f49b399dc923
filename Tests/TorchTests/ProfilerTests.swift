// The op profiler: self times from nested events, and a real profile of a convolution.
@testable import Torch
import XCTest

final class ProfilerTests: XCTestCase {
    func testSelfTimeSubtractsDirectChildrenPerThread() throws {
        // conv (0-100) calls mkldnn (10-90), which calls empty (20-30); thread 2 runs add (50-60)
        // concurrently; a device kernel overlapping everything counts alone.
        let table = """
        aten::conv2d\t1\t0\t100
        aten::mkldnn_convolution\t1\t10\t80
        aten::empty\t1\t20\t10
        aten::add\t2\t50\t10
        aten::add\t1\t95\t5
        kernel\tdevice\t0\t200
        """
        let ops = Dictionary(uniqueKeysWithValues: try Profiler.aggregate(table).map { ($0.name, $0) })
        XCTAssertEqual(ops["aten::conv2d"]!.selfTime, 15e-9, accuracy: 1e-15, "100 less the 80 of its child and the 5 of the add it made")
        XCTAssertEqual(ops["aten::mkldnn_convolution"]!.selfTime, 70e-9, accuracy: 1e-15)
        XCTAssertEqual(ops["aten::add"]!.calls, 2)
        XCTAssertEqual(ops["aten::add"]!.selfTime, 15e-9, accuracy: 1e-15, "the other thread's add is nobody's child")
        XCTAssertEqual(ops["kernel"]!.selfTime, 200e-9, accuracy: 1e-15)
        XCTAssertTrue(ops["kernel"]!.device)
        XCTAssertThrowsError(try Profiler.aggregate("aten::add\t1\tlate\t5"))
    }

    func testProfileSeesTheOpsOfTheBody() throws {
        let x = try Tensor.randn([1, 4, 16, 16])
        let w = try Tensor.randn([8, 4, 3, 3])
        let (y, ops) = try Profiler.profile { try conv(x, weight: w, padding: [1]) }
        XCTAssertEqual(y.shape, [1, 8, 16, 16])
        XCTAssertTrue(ops.contains { $0.name.contains("convolution") && $0.calls >= 1 }, "ops: \(ops.map(\.name))")
        let total = ops.reduce(0) { $0 + $1.selfTime }
        XCTAssertGreaterThan(total, 0)
        XCTAssertTrue(Profiler.table(ops).contains("convolution"))
        XCTAssertThrowsError(try Profiler.profile { throw TorchError(op: "test", message: "boom") })
        _ = try Profiler.profile { try x + 1 }  // a profile after a failed one works
    }
}
