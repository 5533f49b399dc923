// A rendezvous that cannot happen is one line within the timeout, without libtorch's C++ backtraces
// (docs/distributed.md): a host that does not resolve, an empty one, a rank 0 that never answers, and
// ranks started with different world sizes.
// Before Rendezvous, c10d logged a `frame #0 ... frame #22` backtrace at each retry and took about
// twice the timeout.
import Foundation
@testable import Harness
import TestSupport
import XCTest

final class RendezvousTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-rendezvous-\(getpid())-\(UUID().uuidString.prefix(8))")
        try SyntheticData.writeIDX(to: folder.appendingPathComponent("data"), train: 16, test: 8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testAHostThatDoesNotResolveIsOneLineAtOnce() throws {
        let started = Date()
        let environment = DistributedEnvironment(rank: 1, worldSize: 2, localRank: 1, host: "no.such.host.invalid", port: 29400)
        XCTAssertThrowsError(try environment.join(timeout: 20)) { error in
            XCTAssertTrue("\(error)".contains("'no.such.host.invalid' (MASTER_ADDR or --dist-url) does not resolve"), "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "not c10d's retries for twice the 20 s timeout")
    }

    /// `magvit train` as one rank of two, with `environment` added, started; `finish` waits for it.
    func startRank(_ environment: [String: String], timeout: Int) throws -> (process: Process, output: Pipe, started: Date) {
        let config = folder.appendingPathComponent("config.yaml")
        try """
            model: {preset: image-small, baseChannels: 8, quantizer: {bits: 6}}
            data: {kind: fashion-mnist, train: [\(folder.appendingPathComponent("data").path)], evalSamples: 4}
            run: {steps: 2, batch: 2, threads: 1, seed: 5, collectiveTimeout: \(timeout)}
            """.write(to: config, atomically: true, encoding: .utf8)
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        let variables = ["RANK": "1", "WORLD_SIZE": "2", "MASTER_PORT": "\(try Launcher.freePort())"].merging(environment) { $1 }
        let process = Process(), pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = variables.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            + [magvitTool, "train", config.path, "-o", folder.appendingPathComponent("run").path]
        process.standardOutput = pipe
        process.standardError = pipe
        let started = Date()
        try process.run()
        return (process, pipe, started)
    }

    func finish(_ rank: (process: Process, output: Pipe, started: Date)) -> (status: Int32, output: String, seconds: Double) {
        let data = rank.output.fileHandleForReading.readDataToEndOfFile()
        rank.process.waitUntilExit()
        return (rank.process.terminationStatus, String(decoding: data, as: UTF8.self), Date().timeIntervalSince(rank.started))
    }

    /// One rank of two run to its end: its status, its output and its seconds.
    func rank(_ environment: [String: String], timeout: Int) throws -> (status: Int32, output: String, seconds: Double) {
        finish(try startRank(environment, timeout: timeout))
    }

    func testAFailedJoinIsOneLineWithinTheTimeout() throws {
        for (host, expected) in [("no.such.host.invalid", "does not resolve (Name or service not known)"),
                                 (" ", "the rendezvous host (MASTER_ADDR or --dist-url) is empty"),
                                 ("127.0.0.1", "nothing answered at 127.0.0.1:")] {
            let r = try rank(["MASTER_ADDR": host], timeout: 3)
            XCTAssertEqual(r.status, 1, r.output)
            XCTAssertTrue(r.output.contains(expected), r.output)
            XCTAssertEqual(r.output.split(separator: "\n").count, 1, "one line, no backtrace: \(r.output)")
            XCTAssertLessThan(r.seconds, 3 + 5, "within the 3 s timeout (and the tool's start): \(r.output)")
        }
    }

    func testRanksOfDifferentWorldSizesFailAtOnceSayingSo() throws {
        // Before the ranks compared their world sizes in the store, this pair waited 16 s in Gloo's
        // full-mesh connect with a 3 s timeout.
        let port = "\(try Launcher.freePort())"
        let sizes = ["0": "2", "1": "3"]
        let ranks = try (0..<2).map { rank in
            try startRank(["RANK": "\(rank)", "WORLD_SIZE": sizes["\(rank)"]!, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port], timeout: 3)
        }
        let results = Dictionary(uniqueKeysWithValues: ranks.enumerated().map { ("\($0.offset)", finish($0.element)) })
        for (rank, r) in results.sorted(by: { $0.key < $1.key }) {
            XCTAssertEqual(r.status, 1, "rank \(rank): \(r.output)")
            XCTAssertTrue(r.output.contains("was started with world size"), "rank \(rank): \(r.output)")
            XCTAssertFalse(r.output.contains("frame #"), "no backtrace: \(r.output)")
            XCTAssertLessThan(r.seconds, 3 + 5, "within the 3 s timeout (and the tool's start): \(r.output)")
        }
    }
}
