// Data-parallel training through `magvit launch` (c10d, Gloo, 2 processes on this machine): two
// ranks on halves of the global batch equal one process on all of it; a rank that dies stops the
// other with a message, and --resume continues to exactly the uninterrupted run; a rank that hangs
// makes the others stop at the collective timeout.
import Foundation
import NN
import Torch
import TestSupport
import XCTest

final class DataParallelTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-ddp-\(getpid())-\(UUID().uuidString.prefix(8))")
        try SyntheticData.writeIDX(to: folder.appendingPathComponent("data"), train: 64, test: 16)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// A tiny tokenizer with every term of the recipe but LPIPS (GAN with LeCAM, EMA, LFQ entropy).
    /// float64 and an LFQ temperature of 1: at the default 0.01 the per-sample entropy is so stiff
    /// that two summation orders of the same numbers part by ~20× per step even in float64
    /// (docs/distributed.md), which would hide what the test is about.
    func config(steps: Int, extra: String = "") throws -> URL {
        let url = folder.appendingPathComponent("config-\(steps).yaml")
        try """
            model: {preset: image-small, baseChannels: 8, quantizer: {bits: 6, lfq: {annealSteps: 20, temperature: 1}}}
            data: {kind: fashion-mnist, train: [\(folder.appendingPathComponent("data").path)], flip: true, evalSamples: 8}
            loss: {adversarialWeight: 0.1, discriminatorStart: 4, discriminatorChannels: 8, lecamWeight: 0.01}
            optimizer: {learningRate: 0.003, warmupSteps: 5}
            run: {steps: \(steps), batch: 8, logEvery: 1, evalEvery: 10, checkpointEvery: 10, emaDecay: 0.9, threads: 1, seed: 5, dtype: float64\(extra)}
            """.write(to: url, atomically: true, encoding: .utf8)
        return url
    }


    func testTwoRanksEqualOneProcessOnTheGlobalBatch() throws {
        let config = try config(steps: 20)
        let one = folder.appendingPathComponent("one"), two = folder.appendingPathComponent("two")
        var r = try magvit(["train", config.path, "-o", one.path])
        XCTAssertEqual(r.status, 0, r.output)
        r = try magvit(["launch", "--nproc", "2", "--", "train", config.path, "-o", two.path])
        XCTAssertEqual(r.status, 0, r.output)
        try assertClose(one, two)
        // The codebook entropy is the one of the whole global batch, and the GAN terms are there.
        let last = try records(two).last { $0["kind"] == nil }
        XCTAssertNotNil(last?["entropy_codebook"])
        XCTAssertNotNil(last?["lecam"])
        XCTAssertEqual(try SafeTensors.read(two.appendingPathComponent("tokenizer.safetensors")).metadata["world_size"], "2")
    }

    /// Logs (every number within 1e-9 relative, 20 training records) and final weights of two runs agree.
    func assertClose(_ one: URL, _ two: URL, ignoring ignored: Set<String> = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try records(one), b = try records(two)
        XCTAssertEqual(a.count, b.count, file: file, line: line)
        XCTAssertEqual(a.filter { $0["kind"] == nil }.count, 20, file: file, line: line)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(Set(x.keys), Set(y.keys), file: file, line: line)
            for (key, value) in x where !["steps_per_second", "examples_per_second", "training_seconds", "cpu_seconds"].contains(key) && !ignored.contains(key) {
                if let v = value as? Double, let w = y[key] as? Double {
                    XCTAssertEqual(v, w, accuracy: 1e-9 * Swift.max(abs(v), 1e-3), "\(key) at step \(x["step"]!)", file: file, line: line)
                } else {
                    XCTAssertEqual("\(value)", "\(y[key]!)", "\(key) at step \(x["step"]!)", file: file, line: line)
                }
            }
        }
        let wa = try SafeTensors.read(one.appendingPathComponent("tokenizer.safetensors"))
        let wb = try SafeTensors.read(two.appendingPathComponent("tokenizer.safetensors"))
        XCTAssertEqual(Set(wa.tensors.keys), Set(wb.tensors.keys), file: file, line: line)
        for (name, t) in wa.tensors where t.dtype.isFloatingPoint {
            let x = try t.to(.float64), y = try wb.tensors[name]!.to(.float64)
            XCTAssertLessThanOrEqual(try (x - y).abs().max().item(), 1e-9 * Swift.max(try x.abs().max().item(), 1e-3), name, file: file, line: line)
        }
    }

    /// Gradient accumulation: 2 micro-batches of 4 make the update of one batch of 8 (LFQ's batch
    /// entropy is left out: the entropy of a micro-batch's code distribution is not additive), and so
    /// do 2 ranks of 2 micro-batches of 2, whose all-reduce starts during the second one's backward.
    func testTwoMicroBatchesEqualOneBatch() throws {
        let config = try config(steps: 20)
        let text = try String(contentsOf: config, encoding: .utf8).replacingOccurrences(of: "temperature: 1}", with: "temperature: 1, entropyWeight: 0}")
        try text.write(to: config, atomically: true, encoding: .utf8)
        let one = folder.appendingPathComponent("batch"), two = folder.appendingPathComponent("micro")
        var r = try magvit(["train", config.path, "-o", one.path])
        XCTAssertEqual(r.status, 0, r.output)
        r = try magvit(["train", config.path, "-o", two.path, "--set", "run.accumulate=2"])
        XCTAssertEqual(r.status, 0, r.output)
        // The logged batch entropy is the mean of the micro-batches' (weight 0 here); everything else agrees.
        try assertClose(one, two, ignoring: ["entropy_codebook"])
        let ranks = folder.appendingPathComponent("ranks-micro")
        r = try magvit(["launch", "--nproc", "2", "--", "train", config.path, "-o", ranks.path, "--set", "run.accumulate=2"])
        XCTAssertEqual(r.status, 0, r.output)
        try assertClose(one, ranks, ignoring: ["entropy_codebook"])
        r = try magvit(["train", config.path, "-o", folder.appendingPathComponent("odd").path, "--set", "run.accumulate=3"])
        XCTAssertTrue(r.output.contains("run.accumulate must be at least 1 and divide run.batch"), r.output)
    }

    func testDeadRankStopsTheOtherAndResumeContinuesExactly() throws {
        let config = try config(steps: 40)
        let whole = folder.appendingPathComponent("whole"), killed = folder.appendingPathComponent("killed")
        var r = try magvit(["launch", "--nproc", "2", "--", "train", config.path, "-o", whole.path])
        XCTAssertEqual(r.status, 0, r.output)

        let launcher = Process()
        launcher.executableURL = URL(fileURLWithPath: magvitTool)
        launcher.arguments = ["launch", "--nproc", "2", "--grace", "5", "--", "train", config.path, "-o", killed.path]
        let pipe = Pipe()
        launcher.standardOutput = FileHandle.nullDevice
        launcher.standardError = pipe
        try launcher.run()
        let log = killed.appendingPathComponent("log.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while launcher.isRunning, Date() < deadline, ((try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 25 {
            usleep(2_000)
        }
        // Rank 1 dies past the checkpoint at step 20.
        let children = try String(contentsOfFile: "/proc/\(launcher.processIdentifier)/task/\(launcher.processIdentifier)/children", encoding: .utf8)
            .split(separator: " ").compactMap { Int32($0) }
        XCTAssertEqual(children.count, 2, "the launcher's ranks")
        let stopped = Date()
        kill(children[1], SIGKILL)
        let message = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        launcher.waitUntilExit()
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 30, "the other rank stops well within the timeout")
        XCTAssertNotEqual(launcher.terminationStatus, 0)
        XCTAssertTrue(message.contains("rank 1") && message.contains("stopping the other ranks"), message)
        XCTAssertTrue(message.contains("rank 0 of 2") && message.contains("failed"), "rank 0 says why it stopped: \(message)")

        r = try magvit(["launch", "--nproc", "2", "--", "train", config.path, "-o", killed.path, "--resume"])
        XCTAssertEqual(r.status, 0, r.output)
        try assertSameRecords(whole, killed)
    }

    /// A time budget stops every rank at the same step (the slowest rank's fitted count).
    func testTimeBudgetStopsAllRanksTogether() throws {
        let config = try config(steps: 2000)
        let run = folder.appendingPathComponent("budget")
        let r = try magvit(["launch", "--nproc", "2", "--", "train", config.path, "-o", run.path] + ["run.timeBudget=6", "run.evalEvery=100000",
            "run.checkpointEvery=100000", "run.logEvery=20", "run.dtype=float32"].flatMap { ["--set", $0] })
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("time budget 6 s"), r.output)
        let steps = try XCTUnwrap(try records(run).last { $0["kind"] == nil }?["step"] as? Int)
        XCTAssertGreaterThan(steps, 40, "the first fit is at step 40 of the session at the earliest")
        XCTAssertLessThan(steps, 2000)
    }

    /// Without a launcher (as under torchrun or SLURM): a rank that stops answering (SIGSTOP) makes the
    /// other fail at run.collectiveTimeout with the rank and the timeout in its message.
    func testHungRankTimesOut() throws {
        let config = try config(steps: 400, extra: ", collectiveTimeout: 3")
        let run = folder.appendingPathComponent("hung")
        var ranks: [Process] = [], outputs: [Pipe] = []
        let port = 20000 + Int(getpid() % 20000)
        for rank in 0..<2 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: magvitTool)
            p.arguments = ["train", config.path, "-o", run.path]
            p.environment = ProcessInfo.processInfo.environment.merging(
                ["RANK": "\(rank)", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)"]) { $1 }
            let pipe = Pipe()
            p.standardOutput = FileHandle.nullDevice
            p.standardError = pipe
            try p.run()
            ranks.append(p)
            outputs.append(pipe)
        }
        defer { for p in ranks where p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        let log = run.appendingPathComponent("log.jsonl")
        let deadline = Date().addingTimeInterval(120)
        while ranks[0].isRunning, Date() < deadline, ((try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 5 {
            usleep(2_000)
        }
        kill(ranks[1].processIdentifier, SIGSTOP)
        let stopped = Date()
        let message = String(decoding: outputs[0].fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        ranks[0].waitUntilExit()
        let waited = Date().timeIntervalSince(stopped)
        XCTAssertNotEqual(ranks[0].terminationStatus, 0)
        XCTAssertGreaterThan(waited, 2)
        XCTAssertLessThan(waited, 30)
        XCTAssertTrue(message.contains("rank 0 of 2") && message.contains("within 3 s"), message)
        kill(ranks[1].processIdentifier, SIGKILL)
    }
}
