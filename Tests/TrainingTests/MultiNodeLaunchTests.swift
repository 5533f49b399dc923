// Multi-node `magvit launch` on localhost: two launchers playing two nodes (--nnodes 2, --node-rank 0
// and 1, one process each, meeting at 127.0.0.1) train what one process trains on the global batch,
// and the same records as `launch --nproc 2`; one node's launcher killed with SIGKILL stops the other
// node's rank with its message, leaves no rank running and no unfinished output, and --resume on both
// nodes continues to exactly the uninterrupted run.
import Foundation
import Harness
import NN
import TestSupport
import Torch
import XCTest

extension DataParallelTests {
    /// One launcher per node, each with its own standard error in a file; all write to `run`.
    func startNodes(_ config: URL, _ run: URL, extra: [String] = [], grace: Int = 5) throws -> [(launcher: Process, errors: URL)] {
        let port = try Launcher.freePort()
        return try (0..<2).map { node in
            let errors = folder.appendingPathComponent("\(run.lastPathComponent)-node\(node)-\(UUID().uuidString.prefix(4)).err")
            FileManager.default.createFile(atPath: errors.path, contents: nil)
            let launcher = Process()
            launcher.executableURL = URL(fileURLWithPath: magvitTool)
            launcher.arguments = ["launch", "--nnodes", "2", "--node-rank", "\(node)", "--nproc", "1", "--master-addr", "127.0.0.1",
                                  "--master-port", "\(port)", "--grace", "\(grace)", "--", "train", config.path, "-o", run.path] + extra
            launcher.standardOutput = FileHandle.nullDevice
            launcher.standardError = try FileHandle(forWritingTo: errors)
            try launcher.run()
            return (launcher, errors)
        }
    }

    /// Waits for both nodes' launchers; their standard errors.
    func finish(_ nodes: [(launcher: Process, errors: URL)]) throws -> [String] {
        try nodes.map {
            $0.launcher.waitUntilExit()
            return try String(contentsOf: $0.errors, encoding: .utf8)
        }
    }

    func testTwoNodesEqualOneProcessOnTheGlobalBatch() throws {
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        let config = try config(steps: 20)
        let one = folder.appendingPathComponent("one"), nodes = folder.appendingPathComponent("nodes")
        let r = try magvit(["train", config.path, "-o", one.path])
        XCTAssertEqual(r.status, 0, r.output)
        let started = try startNodes(config, nodes)
        let errors = try finish(started)
        for (node, (launcher, _)) in started.enumerated() { XCTAssertEqual(launcher.terminationStatus, 0, "node \(node): \(errors[node])") }
        try assertClose(one, nodes)
        XCTAssertEqual(try SafeTensors.read(nodes.appendingPathComponent("tokenizer.safetensors")).metadata["world_size"], "2")
    }

    /// Starts both nodes on `run`, waits past the checkpoint at step 20, sends SIGKILL to node
    /// `victim`'s launcher (or to its rank), and checks what follows: the other node's rank fails at
    /// its next collective with its own message well within the collective timeout (600 s), its
    /// launcher exits 1, no rank of either node is left running, and the run folder holds the
    /// checkpoint and no unfinished output. Returns the launchers' standard errors.
    @discardableResult
    func killNode(_ victim: Int, launcher killsLauncher: Bool, config: URL, run: URL, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let nodes = try startNodes(config, run)
        var ranks: [Int32] = []
        defer { for pid in ranks where !processEnded(pid) { kill(pid, SIGKILL) } }
        defer { for node in nodes where node.launcher.isRunning { kill(node.launcher.processIdentifier, SIGKILL) } }
        let log = run.appendingPathComponent("log.jsonl")
        let deadline = Date().addingTimeInterval(180)
        while nodes.allSatisfy(\.launcher.isRunning), Date() < deadline,
              ((try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 25 {
            usleep(2_000)
        }
        XCTAssertTrue(nodes.allSatisfy(\.launcher.isRunning), "both nodes still training at step 20", file: file, line: line)
        for node in nodes {
            let pid = node.launcher.processIdentifier
            let children = try String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8).split(separator: " ").compactMap { Int32($0) }
            XCTAssertEqual(children.count, 1, "a node's one rank", file: file, line: line)
            ranks += children
        }
        guard ranks.count == 2 else { return [] }
        let stopped = Date()
        kill(killsLauncher ? nodes[victim].launcher.processIdentifier : ranks[victim], SIGKILL)
        let errors = try finish(nodes)
        let survivor = 1 - victim
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 30, "node \(survivor) stops well within the collective timeout (600 s)", file: file, line: line)
        if killsLauncher {
            XCTAssertEqual(nodes[victim].launcher.terminationReason, .uncaughtSignal, file: file, line: line)
        } else {
            XCTAssertEqual(nodes[victim].launcher.terminationStatus, 128 + SIGKILL, errors[victim], file: file, line: line)
            XCTAssertTrue(errors[victim].contains("launch (node \(victim) of 2): rank \(victim) (pid \(ranks[victim])) was killed by signal 9"), errors[victim], file: file, line: line)
        }
        XCTAssertEqual(nodes[survivor].launcher.terminationStatus, 1, errors[survivor], file: file, line: line)
        XCTAssertTrue(errors[survivor].contains("rank \(survivor) of 2") && errors[survivor].contains("with the other ranks failed"),
                      "the surviving rank says why it stopped: \(errors[survivor])", file: file, line: line)
        XCTAssertTrue(errors[survivor].contains("launch (node \(survivor) of 2): rank \(survivor) (pid \(ranks[survivor])) exited with status 1"), errors[survivor], file: file, line: line)
        let gone = Date().addingTimeInterval(10)
        while Date() < gone, !ranks.allSatisfy(processEnded) { usleep(10_000) }
        for pid in ranks { XCTAssertTrue(processEnded(pid), "rank \(pid) outlived its node", file: file, line: line) }
        let files = FileManager.default.enumerator(atPath: run.path)?.compactMap { $0 as? String } ?? []
        XCTAssertTrue(files.contains("checkpoint.safetensors"), "the checkpoint of step 20: \(files)", file: file, line: line)
        XCTAssertEqual(files.filter { $0.contains(".partial-") }, [], "unfinished outputs left in the run folder", file: file, line: line)
        return errors
    }

    /// Node 1's launcher killed past the checkpoint at step 20 (its rank dies with it), then both nodes
    /// resumed reproduce the uninterrupted run (here `launch --nproc 2`, the same 2 ranks on one
    /// launcher) record for record.
    func testKilledNodeStopsTheOtherAndResumeContinuesExactly() throws {
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        let config = try config(steps: 40)
        let whole = folder.appendingPathComponent("whole"), killed = folder.appendingPathComponent("killed")
        let r = try magvit(["launch", "--nproc", "2", "--", "train", config.path, "-o", whole.path])
        XCTAssertEqual(r.status, 0, r.output)
        try killNode(1, launcher: true, config: config, run: killed)
        let resumed = try startNodes(config, killed, extra: ["--resume"])
        let said = try finish(resumed)
        for (node, (launcher, _)) in resumed.enumerated() { XCTAssertEqual(launcher.terminationStatus, 0, "node \(node): \(said[node])") }
        try assertSameRecords(whole, killed)
    }

    /// Node 0's rank killed (the one serving the rendezvous store): node 0's launcher names it, and
    /// node 1's rank stops with its message.
    func testKilledRankOfNodeZeroStopsNodeOne() throws {
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        try killNode(0, launcher: false, config: try config(steps: 40), run: folder.appendingPathComponent("killed-0"))
    }

    /// Inconsistent node arguments are refused with one line before anything starts.
    func testInconsistentNodeArgumentsAreRefused() throws {
        let config = try config(steps: 2)
        let run = folder.appendingPathComponent("refused")
        for (arguments, expected) in [
            (["--nnodes", "2", "--node-rank", "2", "--master-addr", "127.0.0.1", "--master-port", "29500"], "--node-rank must be 0...1 with --nnodes 2, got 2"),
            (["--nnodes", "2", "--node-rank=-1", "--master-addr", "127.0.0.1", "--master-port", "29500"], "--node-rank must be 0...1 with --nnodes 2, got -1"),
            (["--nnodes", "2", "--node-rank", "1", "--master-port", "29500"], "--nnodes 2 needs --master-addr HOST"),
            (["--nnodes", "2", "--node-rank", "1", "--master-addr", "127.0.0.1"], "and no --master-port"),
            (["--nnodes", "0"], "--nnodes must be at least 1, got 0"),
        ] {
            let r = try magvit(["launch", "--nproc", "1"] + arguments + ["--", "train", config.path, "-o", run.path])
            XCTAssertEqual(r.status, 64, r.output)
            XCTAssertTrue(r.output.hasPrefix("Error: --n") && r.output.contains(expected), "\(arguments): \(r.output)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "\(arguments) started a run")
        }
    }
}
