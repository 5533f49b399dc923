// Numbers a resume reads from a checkpoint and the environment, checked at load with the field
// named: NaN EMA weights and Adam moments, Adam steps that are negative, huge or fractional, elapsed
// times that are NaN, infinite or negative; WORLD_SIZE 0 or past 2^31; and a time budget of 10^300 s,
// which the step fitting once turned into an arithmetic trap.
import Foundation
import Harness
import NN
import TestSupport
import Torch
import XCTest

final class ResumeStateTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-resume-state-\(getpid())-\(UUID().uuidString.prefix(8))")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testDamagedResumeStateIsRefusedWithTheFieldNamed() throws {
        let run = folder.appendingPathComponent("run")
        try HarnessTests.train(run, steps: 50)
        let checkpoint = run.appendingPathComponent("checkpoint.safetensors")
        let saved = try SafeTensors.read(checkpoint)
        let config = HarnessTests.runConfig(steps: 60)
        /// The resume's error after `edit` changed the saved checkpoint ("" when it resumed).
        func refusal(_ edit: (inout [String: Tensor], inout [String: String]) throws -> Void) throws -> String {
            var (tensors, metadata) = (saved.tensors, saved.metadata)
            try edit(&tensors, &metadata)
            try SafeTensors.write(tensors, metadata: metadata, to: checkpoint)
            do {
                try Harness(trainer: try TinyTrainer(run: config), folder: try RunFolder(run, resume: true), resume: true, run: config,
                            optimizer: HarnessTests.optimizer(), config: "{}", echo: { _ in }).train(stoppingAt: 51)
                return ""
            } catch { return "\(error)" }
        }
        func nan(like t: Tensor) throws -> Tensor { try Tensor.full(t.shape, .nan, dtype: t.dtype) }
        let cases: [(String, (inout [String: Tensor], inout [String: String]) throws -> Void)] = [
            ("EMA state holds NaN or infinite values in 1 tensor(s): layer.weight", { t, _ in t["ema.layer.weight"] = try nan(like: t["ema.layer.weight"]!) }),
            ("optimizer state holds NaN, infinite or negative values in 1 tensor(s): layer.weight.exp_avg",
             { t, _ in t["optimizer.layer.weight.exp_avg"] = try nan(like: t["optimizer.layer.weight.exp_avg"]!) }),
            ("layer.weight.exp_avg_sq (negative)", { t, _ in t["optimizer.layer.weight.exp_avg_sq"] = try t["optimizer.layer.weight.exp_avg_sq"]! - 1.0 }),
            ("optimizer state 'step' must be 0...1099511627776, found -3", { t, _ in t["optimizer.step"] = try Tensor(scalar: -3, dtype: .int64) }),
            ("optimizer state 'step' must be 0...1099511627776, found 4611686018427387904",
             { t, _ in t["optimizer.step"] = try Tensor([Int64(1) << 62], shape: []) }),
            ("optimizer state 'step' must be one int64, found float64", { t, _ in t["optimizer.step"] = try Tensor(scalar: 5.5, dtype: .float64) }),
            ("elapsed_seconds must be a finite number in 0.0...1000000000000.0, found nan", { _, m in m["elapsed_seconds"] = "nan" }),
            ("wall_seconds must be a finite number in 0.0...1000000000000.0, found inf", { _, m in m["wall_seconds"] = "inf" }),
            ("wall_seconds must be a finite number in 0.0...1000000000000.0, found -1e+308", { _, m in m["wall_seconds"] = "-1e308" }),
            ("step must be 0...1099511627776, found -5", { _, m in m["step"] = "-5" }),
        ]
        for (expected, edit) in cases {
            let message = try refusal(edit)
            XCTAssertTrue(message.contains(expected), "expected '\(expected)', got: \(message)")
        }
        XCTAssertEqual(try refusal { _, _ in }, "", "the checkpoint as saved resumes")
    }

    /// A time budget of 10^300 s is no limit: the fitted step count saturates at run.steps.
    func testHugeTimeBudgetFitsToTheSteps() throws {
        var run = HarnessTests.runConfig(steps: 101)
        run.timeBudget = 1e300
        let trainer = try TinyTrainer(run: run)
        let directory = folder.appendingPathComponent("budget")
        try Harness(trainer: trainer, folder: try RunFolder(directory, resume: false), resume: false, run: run,
                    optimizer: HarnessTests.optimizer(), config: "{}", echo: { _ in }).train()
        XCTAssertEqual(try records(directory).filter { $0["kind"] == nil }.count, 101)
    }

    func testWorldSizesThatAreNoRunAreRefused() throws {
        func message(_ environment: [String: String]) -> String {
            do { return "accepted \(String(describing: try DistributedEnvironment.detect(environment)))" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(["WORLD_SIZE": "0"]).contains("WORLD_SIZE (or SLURM_NTASKS) must be 1...2147483647, got 0"), message(["WORLD_SIZE": "0"]))
        let huge = ["WORLD_SIZE": "\(1 << 31)", "RANK": "0", "MASTER_ADDR": "localhost", "MASTER_PORT": "1234"]
        XCTAssertTrue(message(huge).contains("got 2147483648"), message(huge))
        // The process group itself refuses what its 32-bit shim cannot take, instead of trapping.
        XCTAssertThrowsError(try ProcessGroup(host: "127.0.0.1", port: 1234, rank: 0, worldSize: 1 << 31, timeout: 1)) {
            XCTAssertTrue("\($0)".contains("the world size must be 1...2147483647, found 2147483648"), "\($0)")
        }
        XCTAssertThrowsError(try ProcessGroup(host: "127.0.0.1", port: 1234, rank: 0, worldSize: 2, timeout: .nan)) {
            XCTAssertTrue("\($0)".contains("the timeout in milliseconds must be a number"), "\($0)")
        }
    }
}
