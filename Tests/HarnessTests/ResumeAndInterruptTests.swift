// Continuing and stopping a run as a person does (issue 34): a resume asked to go backwards is refused
// (it used to trap), raising run.steps extends a time-budgeted run or is refused with the reason, the
// end-of-run time line counts the final evaluation, and Ctrl-C says the step, the checkpoint and
// --resume.
import Foundation
import Harness
import NN
import TestSupport
import Torch
import XCTest

final class ResumeAndInterruptTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-resume-\(getpid())-\(UUID().uuidString.prefix(8))")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// Trains TinyTrainer to `steps` under `timeBudget`, with a config.json holding both as a trainer's does;
    /// returns what the run said.
    @discardableResult
    func train(_ run: URL, steps: Int, timeBudget: Double = 0, clock: BudgetClock = .wall, resume: Bool = false, finalDelay: UInt32 = 0,
               delay: UInt32 = 0, spin: Double = 0) throws -> [String] {
        var config = HarnessTests.runConfig(steps: steps)
        config.timeBudget = timeBudget
        config.budgetClock = clock
        Torch.threads = 1
        let trainer = try TinyTrainer(run: config)
        (trainer.finalDelay, trainer.delay, trainer.spin) = (finalDelay, delay, spin)
        var said: [String] = []
        let json = "{\"run\": {\"steps\": \(steps), \"timeBudget\": \(timeBudget), \"budgetClock\": \"\(clock.rawValue)\"}}"
        try Harness(trainer: trainer, folder: try RunFolder(run, resume: resume), resume: resume, run: config,
                    optimizer: HarnessTests.optimizer(), config: json, echo: { said.append($0) }).train()
        return said
    }

    func steps(_ run: URL) throws -> Int { try records(run).filter { $0["kind"] == nil }.count }

    func testAResumeBehindTheCheckpointIsRefused() throws {
        let run = folder.appendingPathComponent("run")
        try train(run, steps: 20)
        XCTAssertThrowsError(try train(run, steps: 10, resume: true)) {
            XCTAssertTrue("\($0)".contains("run.steps 10 is behind the checkpoint's step 20"), "\($0)")
        }
        XCTAssertEqual(try steps(run), 20, "the run is as it was")
    }

    func testRaisingStepsExtendsARunWithATimeBudget() throws {
        let run = folder.appendingPathComponent("run")
        try train(run, steps: 20, timeBudget: 3600)
        let said = try train(run, steps: 30, timeBudget: 3600, resume: true)
        XCTAssertTrue(said.contains { $0.contains("steps 20..<30") }, "\(said)")
        XCTAssertEqual(try steps(run), 30)
        XCTAssertEqual(try SafeTensors.read(run.appendingPathComponent("tiny.safetensors")).metadata["training_steps"], "30")
    }

    func testRaisingStepsPastASpentBudgetIsRefusedWithTheReason() throws {
        let run = folder.appendingPathComponent("run")
        // A budget spent at once: fitted at step 40 of the session (waiting for step 80 would overrun it) to 41 steps.
        try train(run, steps: 200, timeBudget: 0.01)
        XCTAssertEqual(try steps(run), 41)
        XCTAssertThrowsError(try train(run, steps: 300, timeBudget: 0.01, resume: true)) {
            XCTAssertTrue("\($0)".contains("cannot extend this run") && "\($0)".contains("fitted it to 41 steps")
                && "\($0)".contains("raise run.timeBudget"), "\($0)")
        }
        // The same settings resume as before (nothing left to train), and without the budget it goes on.
        try train(run, steps: 200, timeBudget: 0.01, resume: true)
        XCTAssertEqual(try steps(run), 41)
        try train(run, steps: 90, timeBudget: 0, resume: true)
        XCTAssertEqual(try steps(run), 90)
    }

    func testRaisingTheBudgetRefitsTheCountAndTheBatchesFollow() throws {
        let run = folder.appendingPathComponent("run")
        try train(run, steps: 200, timeBudget: 0.01)
        XCTAssertEqual(try steps(run), 41, "fitted to the spent budget")
        // A raised budget trains on past the old fitted count; batches exist for every step up to run.steps.
        let said = try train(run, steps: 200, timeBudget: 3600, resume: true)
        XCTAssertTrue(said.contains { $0.contains("steps 41..<200") }, "\(said)")
        XCTAssertEqual(try steps(run), 200)
    }

    func testACPUBudgetCountsComputeNotWaiting() throws {
        // Steps that wait 20 ms each (a machine busy with other work) and compute little: a 0.5 s
        // wall-clock budget is spent by step 40, a 0.5 CPU-second one is not.
        let wall = folder.appendingPathComponent("wall"), cpu = folder.appendingPathComponent("cpu")
        try train(wall, steps: 60, timeBudget: 0.5, delay: 20_000)
        XCTAssertEqual(try steps(wall), 41)
        let said = try train(cpu, steps: 60, timeBudget: 0.5, clock: .cpu, delay: 20_000)
        XCTAssertEqual(try steps(cpu), 60, "\(said)")
    }

    func testASpentCPUBudgetEndsTheRunAndSaysSo() throws {
        // Steps that compute 5 ms each: a 0.05 CPU-second budget is spent by step 40 and fits it to 41 steps.
        let run = folder.appendingPathComponent("run")
        let said = try train(run, steps: 200, timeBudget: 0.05, clock: .cpu, spin: 0.005)
        XCTAssertEqual(try steps(run), 41)
        XCTAssertTrue(said.contains { $0.hasPrefix("time budget 0.05 CPU-s at 0.00") && $0.hasSuffix("CPU-s/step: 41 steps") }, "\(said)")
        XCTAssertThrowsError(try train(run, steps: 300, timeBudget: 0.05, clock: .cpu, resume: true)) {
            XCTAssertTrue("\($0)".contains("cannot extend this run") && "\($0)".contains("CPU-s"), "\($0)")
        }
        // A raised CPU budget trains on.
        try train(run, steps: 300, timeBudget: 3600, clock: .cpu, resume: true)
        XCTAssertEqual(try steps(run), 300)
    }

    func testARaisedBudgetStartsFromTheEarlierPace() throws {
        // 41 steps of 5 CPU-ms spent about 0.2 CPU-s; 0.2 more fits about 40 more steps from the first
        // resumed step on, not run.steps (whose cosine would put the learning rate back at its peak
        // until this session's pace is timed).
        let run = folder.appendingPathComponent("run")
        try train(run, steps: 1000, timeBudget: 0.05, clock: .cpu, spin: 0.005)
        XCTAssertEqual(try steps(run), 41)
        let spent = try XCTUnwrap(records(run).compactMap { $0["cpu_seconds"] as? Double }.max())
        let said = try train(run, steps: 1000, timeBudget: spent + 0.2, clock: .cpu, resume: true, spin: 0.005)
        let line = try XCTUnwrap(said.first { $0.contains("steps 41..<") }, "\(said)")
        let end = try XCTUnwrap(line.components(separatedBy: "steps 41..<").last?.split(separator: " ").first.flatMap { Int($0) }, line)
        XCTAssertTrue((60...130).contains(end), line)
        let trained = try steps(run)
        XCTAssertTrue((60...130).contains(trained), "\(trained) steps")
    }

    func testTheTimeLineCountsTheFinalEvaluation() throws {
        let run = folder.appendingPathComponent("run")
        let said = try train(run, steps: 5, finalDelay: 2_500_000)
        let line = try XCTUnwrap(said.first { $0.hasPrefix("saved ") }, "\(said)")
        let wall = try XCTUnwrap(line.components(separatedBy: "s in training steps, ").last?.split(separator: " ").first.flatMap { Double($0) }, line)
        XCTAssertGreaterThanOrEqual(wall, 2, line)
        let metadata = try SafeTensors.read(run.appendingPathComponent("tiny.safetensors")).metadata
        XCTAssertGreaterThanOrEqual(Double(metadata["wall_seconds"] ?? "") ?? 0, 2, "\(metadata)")
    }

    /// The child half of testInterruptedRunSaysWhereItCanGoOnFrom: a slow run that a signal ends.
    func testInterruptedChildRun() throws {
        guard let path = ProcessInfo.processInfo.environment["MAGVIT_INTERRUPT_CHILD"] else {
            throw XCTSkip("runs only as the child process of testInterruptedRunSaysWhereItCanGoOnFrom")
        }
        OutputFiles.installSignalCleanup()
        try HarnessTests.train(URL(fileURLWithPath: path), steps: 400, delay: 20_000)
    }

    func testInterruptedRunSaysWhereItCanGoOnFrom() throws {
        let run = folder.appendingPathComponent("run")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = ["HarnessTests.ResumeAndInterruptTests/testInterruptedChildRun"]
        process.environment = ProcessInfo.processInfo.environment.merging(["MAGVIT_INTERRUPT_CHILD": run.path]) { $1 }
        let pipe = Pipe()
        (process.standardOutput, process.standardError) = (pipe, pipe)
        try process.run()
        // Past the checkpoint at step 50.
        let log = run.appendingPathComponent("log.jsonl"), deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline, ((try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 60 { usleep(5_000) }
        XCTAssertTrue(process.isRunning, "the run ended before it could be interrupted")
        kill(process.processIdentifier, SIGINT)
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + SIGINT)
        let line = try XCTUnwrap(output.split(separator: "\n").first { $0.hasPrefix("interrupted at step ") }, output)
        XCTAssertTrue(line.contains("; checkpoint at \(run.appendingPathComponent("checkpoint.safetensors").path) (step 50); --resume to continue"), String(line))
        let step = try XCTUnwrap(Int(line.dropFirst("interrupted at step ".count).prefix { $0.isNumber }))
        XCTAssertTrue((59...399).contains(step), String(line))
    }
}
