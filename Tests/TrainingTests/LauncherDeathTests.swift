// `magvit launch` killed with SIGKILL (which it cannot forward) takes its ranks with it: they are
// started under the parent-death rule ffmpeg children have, so none is left training under PID 1.
import Foundation
import TestSupport
import XCTest

final class LauncherDeathTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-launch-\(getpid())-\(UUID().uuidString.prefix(8))")
        try SyntheticData.writeIDX(to: folder.appendingPathComponent("data"), train: 64, test: 16)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testKilledLauncherTakesItsRanksWithIt() throws {
        let config = folder.appendingPathComponent("config.yaml")
        try """
            model: {preset: image-small, baseChannels: 8, quantizer: {bits: 6}}
            data: {kind: fashion-mnist, train: [\(folder.appendingPathComponent("data").path)], evalSamples: 8}
            run: {steps: 100000, batch: 8, logEvery: 1, evalEvery: 100000, checkpointEvery: 100000, threads: 1, seed: 5}
            """.write(to: config, atomically: true, encoding: .utf8)
        let run = folder.appendingPathComponent("run")
        let launcher = Process()
        launcher.executableURL = URL(fileURLWithPath: magvitTool)
        launcher.arguments = ["launch", "--nproc", "2", "--", "train", config.path, "-o", run.path]
        launcher.standardOutput = FileHandle.nullDevice
        launcher.standardError = FileHandle.nullDevice
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        try launcher.run()
        // Both ranks training: the log has records.
        let log = run.appendingPathComponent("log.jsonl"), deadline = Date().addingTimeInterval(120)
        while launcher.isRunning, Date() < deadline, ((try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").count ?? 0) < 3 {
            usleep(10_000)
        }
        let ranks = try String(contentsOfFile: "/proc/\(launcher.processIdentifier)/task/\(launcher.processIdentifier)/children", encoding: .utf8)
            .split(separator: " ").compactMap { Int32($0) }
        defer { for pid in ranks where !processEnded(pid) { kill(pid, SIGKILL) } }
        XCTAssertEqual(ranks.count, 2, "the launcher's ranks")
        kill(launcher.processIdentifier, SIGKILL)
        launcher.waitUntilExit()
        let gone = Date().addingTimeInterval(10)
        while Date() < gone, !ranks.allSatisfy(processEnded) { usleep(10_000) }
        for pid in ranks { XCTAssertTrue(processEnded(pid), "rank \(pid) outlived its killed launcher") }
    }
}
