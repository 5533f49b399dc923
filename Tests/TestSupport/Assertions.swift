// Shared test helpers: closeness checks and finite-difference gradient checks.
import Foundation
import Torch
import XCTest

/// Fails unless |a - b| <= atol + rtol·|b| elementwise (b is the reference), with the worst offender in the message.
public func assertClose(
    _ a: Tensor, _ b: Tensor, rtol: Double = 1e-5, atol: Double = 1e-6, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) throws {
    XCTAssertEqual(a.shape, b.shape, "shape \(message)", file: file, line: line)
    guard a.shape == b.shape else { return }
    let x = try a.toArray(Double.self)
    let y = try b.toArray(Double.self)
    var worst = (index: -1, excess: 0.0)
    for i in 0..<x.count {
        let excess = Swift.abs(x[i] - y[i]) - (atol + rtol * Swift.abs(y[i]))
        if excess > worst.excess || x[i].isNaN != y[i].isNaN { worst = (i, Swift.max(excess, 1)) }
    }
    if worst.index >= 0 {
        XCTFail("not close \(message): at \(worst.index) got \(x[worst.index]), expected \(y[worst.index]) (rtol \(rtol), atol \(atol))", file: file, line: line)
    }
}

/// Compares autograd's gradients of Σ f(inputs)·r (r fixed, random) with central finite differences
/// in float64, for every element of every floating-point input, as torch.autograd.gradcheck does.
/// Integer inputs (indices) pass through unchanged.
public func assertGradientsMatch(
    _ inputs: [Tensor], _ label: String = "", eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3,
    file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) throws -> Tensor
) throws {
    let leaves = try inputs.map { (t) throws -> Tensor in
        let c = try t.detach().clone()
        return t.dtype.isFloatingPoint ? try c.requiresGrad(true) : c
    }
    let output = try f(leaves)
    let projection = try Tensor.randn(output.shape, dtype: .float64)
    func objective(_ xs: [Tensor]) throws -> Double { try (f(xs) * projection).sum().item() }
    let differentiable = leaves.filter { $0.dtype.isFloatingPoint }
    let analytic = try gradients(of: [(output * projection).sum()], wrt: differentiable)
    var checked = 0
    for (i, leaf) in leaves.enumerated() where leaf.dtype.isFloatingPoint {
        XCTAssertEqual(leaf.dtype, .float64, "gradient checks run in float64", file: file, line: line)
        let k = differentiable.firstIndex { $0 === leaf }!
        let expected = try analytic[k].map { (g) throws in try g.toArray(Double.self) } ?? Array(repeating: 0, count: leaf.count)
        var values = try leaf.toArray(Double.self)
        for j in 0..<values.count {
            let original = values[j]
            var xs = leaves.map { (t: Tensor) -> Tensor in t }
            values[j] = original + eps
            xs[i] = try Tensor(values, shape: leaf.shape)
            let plus = try objective(xs)
            values[j] = original - eps
            xs[i] = try Tensor(values, shape: leaf.shape)
            let minus = try objective(xs)
            values[j] = original
            let numeric = (plus - minus) / (2 * eps)
            if Swift.abs(numeric - expected[j]) > atol + rtol * Swift.abs(numeric) {
                XCTFail("\(label) input \(i) element \(j): autograd \(expected[j]), finite differences \(numeric)", file: file, line: line)
                return
            }
            checked += 1
        }
    }
    XCTAssertGreaterThan(checked, 0, "no element was checked", file: file, line: line)
}

/// The process's resident set size in bytes (Linux /proc/self/statm).
public func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The seeded generator of the library, under the name tests have used.
public typealias SplitMix64 = SeededRandom

/// The `magvit` executable next to the test bundle (`swift build --build-tests` builds it).
public var magvitTool: String {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("magvit").path
}

/// Runs the `magvit` tool to completion; standard output and error together. With
/// `fileSizeLimitKiB`, under `ulimit -f` (writes past it fail as on a full disk); with `directory`,
/// in that working directory.
@discardableResult
public func magvit(_ arguments: [String], fileSizeLimitKiB: Int? = nil, in directory: URL? = nil) throws -> (status: Int32, output: String) {
    guard FileManager.default.isExecutableFile(atPath: magvitTool) else {
        throw XCTSkip("\(magvitTool) is not built (swift build --build-tests builds it)")
    }
    if let limit = fileSizeLimitKiB {
        return try runProcess("/bin/bash", ["-c", "ulimit -f \(limit); exec \"$0\" \"$@\"", magvitTool] + arguments, in: directory)
    }
    return try runProcess(magvitTool, arguments, in: directory)
}

/// Runs `executable` (in `directory`, or the current folder) to its end: its exit status and its
/// standard output and error together.
public func runProcess(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Starts `executable` and kills it with SIGKILL once its run log holds `lines` lines (a run past a
/// checkpoint and before the next); fails the test if it ends first.
public func killWithSIGKILL(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                            whenLogAt log: URL, holds lines: Int, file: StaticString = #filePath, line: UInt = #line) throws {
    try killWithSIGKILL(executable, arguments, environment: environment, file: file, line: line) {
        ((try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").count ?? 0) >= lines
    }
}

/// Starts `executable` and kills it with SIGKILL as soon as `ready` holds (polled every millisecond);
/// fails the test if it ends first.
public func killWithSIGKILL(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                            file: StaticString = #filePath, line: UInt = #line, when ready: () -> Bool) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(120)
    while process.isRunning, Date() < deadline, !ready() { usleep(1_000) }
    XCTAssertTrue(process.isRunning, "the run finished (or failed) before it could be killed", file: file, line: line)
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationReason, .uncaughtSignal, file: file, line: line)
}

/// The records of a run folder's log.jsonl, in order.
public func records(_ run: URL) throws -> [[String: Any]] {
    try String(contentsOf: run.appendingPathComponent("log.jsonl"), encoding: .utf8).split(separator: "\n").map {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
}

/// The records of two run folders' logs are equal, but for the timing keys.
public func assertSameRecords(_ a: URL, _ b: URL, file: StaticString = #filePath, line: UInt = #line) throws {
    let x = try records(a), y = try records(b)
    XCTAssertEqual(x.count, y.count, file: file, line: line)
    for (r, s) in zip(x, y) {
        var r = r, s = s
        for key in ["steps_per_second", "examples_per_second", "training_seconds", "cpu_seconds"] { r[key] = nil; s[key] = nil }
        XCTAssertEqual(NSDictionary(dictionary: r), NSDictionary(dictionary: s), "step \(r["step"] ?? "?")", file: file, line: line)
    }
}
