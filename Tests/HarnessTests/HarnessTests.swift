// The run harness with a test-only trainer (TinyTrainer.swift): it learns and writes its outputs, a
// run killed with SIGKILL and resumed logs exactly what an uninterrupted run logs, TensorBoard event
// files read back (framing, CRCs, scalars; with Python's tensorboard too when setup installed it),
// PNGs are well formed, and the run folder's policy and lock hold.
import CZlib
import Foundation
import Harness
import NN
import TestSupport
import Torch
import XCTest

final class HarnessTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-harness-\(getpid())-\(UUID().uuidString.prefix(8))")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    static func runConfig(steps: Int) -> RunConfig {
        var run = RunConfig()
        run.steps = steps
        run.batch = 16
        run.seed = 9
        run.logEvery = 1
        run.evalEvery = 50
        run.checkpointEvery = 50
        run.threads = 1
        return run
    }

    static func optimizer() -> OptimizerConfig {
        var o = OptimizerConfig()
        o.learningRate = 0.05
        o.warmupSteps = 10
        return o
    }

    @discardableResult
    static func train(_ directory: URL, steps: Int, resume: Bool = false, delay: UInt32 = 0) throws -> URL? {
        let run = runConfig(steps: steps)
        if run.threads > 0 { Torch.threads = run.threads }
        let trainer = try TinyTrainer(run: run)
        trainer.delay = delay
        let harness = Harness(trainer: trainer, folder: try RunFolder(directory, resume: resume), resume: resume, run: run,
                              optimizer: optimizer(), config: "{\"tiny\": true}", echo: { _ in })
        return try harness.train()
    }


    func testTinyTrainerLearnsAndWritesItsOutputs() throws {
        let run = folder.appendingPathComponent("run")
        let url = try XCTUnwrap(try Self.train(run, steps: 120))
        let log = try records(run)
        let train = log.filter { $0["kind"] == nil }
        XCTAssertEqual(train.count, 120)
        let mse = train.map { $0["mse"] as! Double }
        XCTAssertLessThan(mse.suffix(10).reduce(0, +), 0.1 * mse.prefix(10).reduce(0, +), "mse \(mse.prefix(3)) ... \(mse.suffix(3))")
        XCTAssertEqual(train.last?["seen"] as? Double, 120)
        XCTAssertEqual(log.filter { $0["kind"] as? String == "eval" }.map { $0["step"] as! Int }, [50, 100])
        XCTAssertEqual(log.filter { $0["kind"] as? String == "final_eval" }.map { $0["step"] as! Int }, [120])
        for key in ["lr", "steps_per_second", "examples_per_second", "training_seconds", "cpu_seconds", "loss", "step"] { XCTAssertNotNil(train[0][key], key) }
        for name in ["config.json", "checkpoint.safetensors", "samples/step-0000050.png", "samples/step-0000120.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(name).path), name)
        }
        XCTAssertEqual(url.lastPathComponent, "tiny.safetensors")
        XCTAssertEqual(try SafeTensors.read(url).metadata["training_steps"], "120")
        XCTAssertThrowsError(try RunFolder(run, resume: false)) { XCTAssertTrue("\($0)".contains("--resume"), "\($0)") }
    }

    /// The child half of testKilledAndResumedRunMatchesAnUninterruptedOne, run in its own process.
    func testChildRun() throws {
        guard let path = ProcessInfo.processInfo.environment["MAGVIT_HARNESS_CHILD"] else {
            throw XCTSkip("runs only as the child process of testKilledAndResumedRunMatchesAnUninterruptedOne")
        }
        try Self.train(URL(fileURLWithPath: path), steps: 200, delay: 5_000)
    }

    func testKilledAndResumedRunMatchesAnUninterruptedOne() throws {
        let whole = folder.appendingPathComponent("whole"), killed = folder.appendingPathComponent("killed")
        try Self.train(whole, steps: 200)

        // The child test trains into `killed`, slowed down, and is killed past the checkpoint at step 100.
        try killWithSIGKILL(CommandLine.arguments[0], ["HarnessTests.HarnessTests/testChildRun"],
                            environment: ProcessInfo.processInfo.environment.merging(["MAGVIT_HARNESS_CHILD": killed.path]) { $1 },
                            whenLogAt: killed.appendingPathComponent("log.jsonl"), holds: 125)
        XCTAssertGreaterThan(try records(killed).count, 100, "the log of the killed run holds its records")

        try Self.train(killed, steps: 200, resume: true)
        try assertSameRecords(whole, killed)
        let wa = try SafeTensors.read(whole.appendingPathComponent("tiny.safetensors")).tensors
        let wb = try SafeTensors.read(killed.appendingPathComponent("tiny.safetensors")).tensors
        XCTAssertEqual(Set(wa.keys), Set(wb.keys))
        for (k, v) in wa { XCTAssertEqual(try v.toArray(Float.self), try wb[k]!.toArray(Float.self), k) }
    }

    func testTensorBoardEventsReadBack() throws {
        let run = folder.appendingPathComponent("run")
        try Self.train(run, steps: 60)
        let files = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(files.count, 1)
        let url = run.appendingPathComponent(files[0])
        let scalars = try TensorBoardReader.scalars(url)
        let losses = scalars.filter { $0.tag == "train/loss" }
        XCTAssertEqual(losses.map(\.step), Array(1...60))
        let logged = try records(run).filter { $0["kind"] == nil }.map { $0["loss"] as! Double }
        for (event, value) in zip(losses, logged) { XCTAssertEqual(event.value, Double(Float(value)), "step \(event.step)") }
        XCTAssertEqual(scalars.filter { $0.tag == "eval/held_out_error" }.map(\.step), [50])
        XCTAssertEqual(scalars.filter { $0.tag == "final_eval/held_out_error" }.map(\.step), [60])

        // Every record is framed with checksums: one flipped byte is found.
        var bytes = try Data(contentsOf: url)
        bytes[bytes.count / 2] ^= 0x55
        XCTAssertThrowsError(try TFRecord.records(bytes)) { XCTAssertTrue("\($0)".contains("checksum") || "\($0)".contains("truncated"), "\($0)") }

        // Python's tensorboard reads the same file, when setup could install it.
        let tensorboard = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".deps/tensorboard")
        guard FileManager.default.fileExists(atPath: tensorboard.appendingPathComponent("tensorboard").path) else {
            throw XCTSkip("Python tensorboard is not installed in .deps/tensorboard (scripts/setup.sh installs it)")
        }
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", """
            import sys
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
            a = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "images": 0}); a.Reload()
            loss = a.Scalars("train/loss")
            print(len(loss), loss[-1].step, "%.6f" % loss[-1].value, len(a.Images("samples/weights")))
            """, run.path]
        python.environment = ["PYTHONPATH": tensorboard.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"]
        let pipe = Pipe()
        python.standardOutput = pipe
        python.standardError = pipe
        try python.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        python.waitUntilExit()
        XCTAssertEqual(python.terminationStatus, 0, output)
        XCTAssertEqual(output.trimmingCharacters(in: .whitespacesAndNewlines), String(format: "60 60 %.6f 2", Float(logged.last!)))
    }

    func testPNGIsWellFormed() throws {
        let image = try Tensor([Float](stride(from: 0, to: 1, by: 1.0 / 18)), shape: [2, 3, 3])
        let png = try PNG.encode(image)
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var offset = 8, chunks: [String] = [], idat = Data()
        while offset < png.count {
            let length = Int(png[offset..<(offset + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            let typed = png[(offset + 4)..<(offset + 8 + length)]
            let crc = png[(offset + 8 + length)..<(offset + 12 + length)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let computed = Data(typed).withUnsafeBytes { CZlib.crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count)) }
            XCTAssertEqual(UInt(crc), computed)
            let type = String(decoding: typed.prefix(4), as: UTF8.self)
            chunks.append(type)
            if type == "IDAT" { idat.append(Data(typed.dropFirst(4))) }
            offset += 12 + length
        }
        XCTAssertEqual(chunks, ["IHDR", "IDAT", "IEND"])
        var size = uLongf(2 * (1 + 3 * 3))
        var raw = [UInt8](repeating: 0, count: Int(size))
        let status = idat.withUnsafeBytes { uncompress(&raw, &size, $0.bindMemory(to: Bytef.self).baseAddress, uLong($0.count)) }
        XCTAssertEqual(status, Z_OK)
        let expected = try (image * 255).round().toArray(Float.self).map { UInt8($0) }
        XCTAssertEqual(raw, [0] + expected.prefix(9) + [0] + expected.suffix(9))
        XCTAssertThrowsError(try PNG.encode(Tensor.zeros([2, 3]))) { XCTAssertTrue("\($0)".contains("(height, width, 3)"), "\($0)") }
    }

    func testRunFolderPolicyAndLock() throws {
        let run = folder.appendingPathComponent("locked")
        XCTAssertThrowsError(try RunFolder(run, resume: true)) { XCTAssertTrue("\($0)".contains("no checkpoint.safetensors"), "\($0)") }
        let fresh = try RunFolder(run, resume: false)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "checking the policy creates nothing")
        var lock: RunLock? = try fresh.create()
        XCTAssertThrowsError(try fresh.create()) { XCTAssertTrue("\($0)".contains("in use by another training process"), "\($0)") }
        XCTAssertNotNil(lock)
        lock = nil
        XCTAssertNoThrow(try fresh.create())
    }

    func testCheckpointOfOtherStateIsRefused() throws {
        let run = folder.appendingPathComponent("groups")
        try Self.train(run, steps: 50)
        let config = Self.runConfig(steps: 60)
        func resume(_ change: (TinyTrainer) -> Void) throws {
            let trainer = try TinyTrainer(run: config)
            change(trainer)
            try Harness(trainer: trainer, folder: try RunFolder(run, resume: true), resume: true, run: config,
                        optimizer: Self.optimizer(), config: "{}", echo: { _ in }).train()
        }
        XCTAssertThrowsError(try resume { $0.dropEMA = true }) { XCTAssertTrue("\($0)".contains("not used by this config: ema"), "\($0)") }
        XCTAssertThrowsError(try resume { $0.modelName = "other" }) { XCTAssertTrue("\($0)".contains("another model"), "\($0)") }
        XCTAssertNoThrow(try resume { _ in }, "the same trainer resumes")
        XCTAssertEqual(try records(run).filter { $0["kind"] == nil }.count, 60)
    }
}

final class DistributedEnvironmentTests: XCTestCase {
    func testReadsTorchrunSlurmAndDistURL() throws {
        XCTAssertNil(try DistributedEnvironment.detect([:]))
        XCTAssertNil(try DistributedEnvironment.detect(["WORLD_SIZE": "1", "RANK": "0"]))
        let torchrun = ["RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "node0", "MASTER_PORT": "29500"]
        XCTAssertEqual(try DistributedEnvironment.detect(torchrun), DistributedEnvironment(rank: 3, worldSize: 4, localRank: 1, host: "node0", port: 29500))
        let slurm = ["SLURM_PROCID": "2", "SLURM_NTASKS": "8", "SLURM_LOCALID": "0", "MASTER_ADDR": "n1", "MASTER_PORT": "1234"]
        XCTAssertEqual(try DistributedEnvironment.detect(slurm), DistributedEnvironment(rank: 2, worldSize: 8, localRank: 0, host: "n1", port: 1234))
        XCTAssertEqual(try DistributedEnvironment.detect(["RANK": "1", "WORLD_SIZE": "2"], distURL: "tcp://10.0.0.5:4000")?.host, "10.0.0.5")
        func message(_ environment: [String: String], _ url: String? = nil) -> String {
            do { _ = try DistributedEnvironment.detect(environment, distURL: url); return "" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(["WORLD_SIZE": "2"]).contains("RANK"))
        XCTAssertTrue(message(["WORLD_SIZE": "2", "RANK": "2"]).contains("not below WORLD_SIZE"))
        XCTAssertTrue(message(["WORLD_SIZE": "two"]).contains("WORLD_SIZE must be a non-negative integer"))
        XCTAssertTrue(message(["WORLD_SIZE": "2", "RANK": "0"]).contains("MASTER_ADDR and MASTER_PORT"))
        XCTAssertTrue(message(["WORLD_SIZE": "2", "RANK": "0"], "http://x:1").contains("tcp://HOST:PORT"))
    }
}
