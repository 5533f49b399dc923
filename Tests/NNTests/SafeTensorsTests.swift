// safetensors: files from the Python package load in Swift, files from Swift load in Python, and
// damaged files give errors that say what is wrong.
import Foundation
@testable import NN
import TestSupport
import Torch
import XCTest

final class SafeTensorsTests: XCTestCase {
    /// The tensors of scripts/fixtures/torch_fixtures.py's interop(), rebuilt in Swift.
    static func interopTensors() throws -> [String: Tensor] {
        let base = try Tensor.arange(0, 24, dtype: .float64).reshape([2, 3, 4])
        return [
            "f32": try (base / 7).to(.float32), "f64": try base / 7, "bf16": try (base / 8).to(.bfloat16),
            "f16": try (base / 8).to(.float16), "i64": try (base.to(.int64) - 12) * 1_000_000_007,
            "i32": try base.to(.int32) - 12, "u8": try (base * 10).to(.uint8),
            "bool": try base.to(.int64).remainder(3).eq(0), "scalar": try Tensor(scalar: 2.5), "empty": try Tensor.zeros([0, 3]),
        ]
    }

    func testPythonWrittenFileLoads() throws {
        let url = Bundle.module.url(forResource: "Fixtures/interop_python", withExtension: "safetensors")!
        let contents = try SafeTensors.read(url)
        XCTAssertEqual(contents.metadata["written_by"], "python safetensors")
        XCTAssertEqual(contents.metadata["note"], "ü")
        let expected = try Self.interopTensors()
        XCTAssertEqual(Set(contents.tensors.keys), Set(expected.keys))
        for (name, t) in expected {
            let loaded = contents.tensors[name]!
            XCTAssertEqual(loaded.dtype, t.dtype, name)
            XCTAssertEqual(loaded.shape, t.shape, name)
            XCTAssertEqual(try loaded.bytes(), try t.bytes(), "\(name) differs bit for bit")
        }
    }

    func testSwiftWrittenFileLoadsInPython() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-st-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("swift.safetensors")
        try SafeTensors.write(try Self.interopTensors(), metadata: ["written_by": "swift"], to: url)
        // Round trip in Swift first.
        let back = try SafeTensors.read(url)
        XCTAssertEqual(back.metadata, ["written_by": "swift"])
        for (name, t) in try Self.interopTensors() { XCTAssertEqual(try back.tensors[name]!.bytes(), try t.bytes(), name) }
        // Then in Python's safetensors package, which scripts/setup.sh installs into .deps/python-tools.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let tools = root.appendingPathComponent(".deps/python-tools")
        let script = root.appendingPathComponent("scripts/fixtures/check_swift_safetensors.py")
        guard FileManager.default.fileExists(atPath: tools.appendingPathComponent("safetensors").path) else {
            throw XCTSkip("Python safetensors is not installed in .deps/python-tools (run scripts/setup.sh)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, url.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["PYTHONPATH": tools.path]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("10 tensors equal"), output)
    }

    func testDamagedFilesAreRefusedWithClearErrors() throws {
        let url = Bundle.module.url(forResource: "Fixtures/interop_python", withExtension: "safetensors")!
        let good = try Data(contentsOf: url)
        func message(_ data: Data) -> String {
            do {
                _ = try SafeTensors.parse(data, path: "f")
                return "loaded"
            } catch {
                return "\(error)"
            }
        }
        XCTAssertTrue(message(Data([1, 2, 3])).contains("not a safetensors file"))
        XCTAssertTrue(message(good.prefix(good.count - 5)).contains("truncated"), message(good.prefix(good.count - 5)))
        XCTAssertTrue(message(good.prefix(40)).contains("exceeds the file"))
        var garbled = good
        garbled[9] = 0x7B  // '{' inside the header: no longer JSON
        garbled[10] = 0x7B
        XCTAssertTrue(message(garbled).contains("not valid JSON"), message(garbled))
        // Hand-made headers: overlapping tensors, and a size that disagrees with the shape.
        func file(_ header: String, payload: Int) -> Data {
            var d = Data()
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: Array(header.utf8))
            d.append(contentsOf: [UInt8](repeating: 0, count: payload))
            return d
        }
        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        XCTAssertTrue(message(file(overlap, payload: 12)).contains("overlap"), message(file(overlap, payload: 12)))
        let sized = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
        XCTAssertTrue(message(file(sized, payload: 8)).contains("needs 12 bytes, the header gives 8"), message(file(sized, payload: 8)))
        let dtype = #"{"a":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#
        XCTAssertTrue(message(file(dtype, payload: 8)).contains("has dtype C64"), message(file(dtype, payload: 8)))
        XCTAssertThrowsError(try SafeTensors.read(URL(fileURLWithPath: "/nonexistent/x.safetensors"))) {
            XCTAssertTrue("\($0)".contains("no such file"))
        }
        // Random mutations never crash: each either loads or throws.
        var generator = SplitMix64(seed: 3)
        for _ in 0..<300 {
            var mutated = good
            for _ in 0..<3 { mutated[Int(generator.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: generator.next()) }
            _ = message(mutated.prefix(Int(generator.next() % UInt64(mutated.count + 1))))
        }
    }

    func testAtomicWriteReplacesWholeFilesAndLeavesNoTemporaries() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-atomic-\(getpid())")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try SafeTensors.write(["a": Tensor([1, 2] as [Float])], to: url)
        try SafeTensors.write(["a": Tensor([3, 4, 5] as [Float])], to: url)
        XCTAssertEqual(try SafeTensors.read(url).tensors["a"]!.toArray(Float.self), [3, 4, 5])
        // A destination that cannot be replaced (a non-empty folder) fails, leaves it, and cleans up.
        let blocked = directory.appendingPathComponent("blocked")
        try FileManager.default.createDirectory(at: blocked.appendingPathComponent("inside"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try SafeTensors.write(["a": Tensor([1] as [Float])], to: blocked))
        XCTAssertTrue(FileManager.default.fileExists(atPath: blocked.appendingPathComponent("inside").path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted(), ["blocked", "model.safetensors"])
    }
}
