// What `Launcher` gives each rank on node K of N (torchrun's variables: RANK = K·nproc + LOCAL_RANK,
// WORLD_SIZE = N·nproc, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK, GROUP_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT), and the node arguments it refuses. The ranks here are shell processes that write
// their environment, so nothing trains.
import Foundation
import Harness
import XCTest

final class LauncherTests: XCTestCase {
    func environments(processes: Int, nodes: Int, nodeRank: Int, port: Int) throws -> [String] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-launcher-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = "echo \"$RANK $WORLD_SIZE $LOCAL_RANK $LOCAL_WORLD_SIZE $GROUP_RANK $GROUP_WORLD_SIZE $MASTER_ADDR $MASTER_PORT\" > \"$0/$RANK\""
        let status = try Launcher.run(executable: "/bin/sh", arguments: ["-c", script, folder.path], processes: processes, nodes: nodes,
                                      nodeRank: nodeRank, host: "node0.example", port: port) { XCTFail($0) }
        XCTAssertEqual(status, 0)
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map {
            try String(contentsOf: folder.appendingPathComponent($0), encoding: .utf8).trimmingCharacters(in: .newlines)
        }
    }

    func testRanksOfOneNodeOfSeveral() throws {
        XCTAssertEqual(try environments(processes: 2, nodes: 3, nodeRank: 1, port: 29500),
                       ["2 6 0 2 1 3 node0.example 29500", "3 6 1 2 1 3 node0.example 29500"])
        XCTAssertEqual(try environments(processes: 1, nodes: 2, nodeRank: 0, port: 29501), ["0 2 0 1 0 2 node0.example 29501"])
    }

    func testInconsistentNodesAreRefused() {
        func refusal(_ nodes: Int, _ nodeRank: Int, _ host: String?, _ port: Int) -> String {
            do {
                try Launcher.check(processes: 1, nodes: nodes, nodeRank: nodeRank, host: host, port: port)
                return "accepted"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(refusal(2, 2, "h", 29500), "--node-rank must be 0...1 with --nnodes 2, got 2")
        XCTAssertEqual(refusal(1, 1, "127.0.0.1", 0), "--node-rank must be 0...0 with --nnodes 1, got 1")
        XCTAssertTrue(refusal(2, 1, nil, 29500).hasPrefix("--nnodes 2 needs --master-addr HOST"))
        XCTAssertTrue(refusal(2, 1, " ", 29500).hasPrefix("--nnodes 2 needs --master-addr HOST"))
        XCTAssertTrue(refusal(2, 0, "h", 0).hasSuffix("got --master-addr 'h' and no --master-port"))
        XCTAssertEqual(refusal(2, 0, "h", 70000), "--master-port must be 1-65535 (or 0 on one node: a free one), got 70000")
        XCTAssertEqual(refusal(1, 0, "127.0.0.1", 0), "accepted")
        XCTAssertEqual(refusal(2, 1, "h", 29500), "accepted")
    }

    /// `launch` under srun (one task per node): the ranks inherit srun's SLURM_PROCID, SLURM_NTASKS
    /// and SLURM_LOCALID, and the launcher's RANK, WORLD_SIZE and LOCAL_RANK take precedence.
    func testLauncherVariablesWinOverSlurms() throws {
        let slurm = ["SLURM_PROCID": "1", "SLURM_NTASKS": "2", "SLURM_LOCALID": "0", "SLURM_NODEID": "1"]
        let launched = ["RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "MASTER_ADDR": "node0", "MASTER_PORT": "29500"]
        XCTAssertEqual(try DistributedEnvironment.detect(slurm.merging(launched) { $1 }),
                       DistributedEnvironment(rank: 5, worldSize: 8, localRank: 1, host: "node0", port: 29500))
    }
}
