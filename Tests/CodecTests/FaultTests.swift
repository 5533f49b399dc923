// Faults around the tool's outputs and children: SIGTERM removes the partial output and stops ffmpeg,
// SIGKILL of magvit still ends its ffmpeg (and the next run sweeps the dead run's temporary), a
// device, symlink or folder at the destination is refused, and a full destination (a file size
// limit) is a message with no debris.
import Foundation
import Media
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

final class FaultTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-faults-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        Torch.manualSeed(8)
        try VideoTokenizer(config: .tiny).save(to: url("tiny.safetensors"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    /// Entries of the test folder that are temporaries.
    func partials() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains(".partial-") } }

    /// Children of `pid` (from /proc).
    func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && Int32(fields[1]) == pid
        }
    }

    /// Whether `pid` is gone (or a zombie waiting for a reaper).
    func ended(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
    }

    /// Starts `magvit reconstruct` of a long video into out.mp4 and waits until its ffmpeg writer runs.
    func startReconstruct() throws -> (Process, [Int32]) {
        try SyntheticData.writeVideo(to: url("long.mkv"), frames: 400, size: 64)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: magvitTool)
        process.arguments = ["reconstruct", url("long.mkv").path, "-o", url("out.mp4").path, "--checkpoint", url("tiny.safetensors").path, "--threads", "1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard FileManager.default.isExecutableFile(atPath: magvitTool) else { throw XCTSkip("\(magvitTool) is not built") }
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning, (try partials()).isEmpty || children(of: process.processIdentifier).count < 2 { usleep(10_000) }
        XCTAssertTrue(process.isRunning, "reconstruct ended before it could be interrupted")
        return (process, children(of: process.processIdentifier))
    }

    func testSIGTERMRemovesThePartialOutputAndStopsFFmpeg() throws {
        let (process, ffmpeg) = try startReconstruct()
        XCTAssertEqual(ffmpeg.count, 2, "a reader and a writer")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + SIGTERM)
        XCTAssertEqual(try partials(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: url("out.mp4").path))
        for pid in ffmpeg { XCTAssertTrue(ended(pid), "ffmpeg \(pid) outlived magvit") }
    }

    func testSIGKILLOfMagvitEndsItsFFmpegAndTheNextRunSweepsItsTemporary() throws {
        let (process, ffmpeg) = try startReconstruct()
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline, !ffmpeg.allSatisfy(ended) { usleep(10_000) }
        for pid in ffmpeg { XCTAssertTrue(ended(pid), "ffmpeg \(pid) outlived a killed magvit") }
        XCTAssertFalse(try partials().isEmpty, "a SIGKILL cannot clean up")
        let r = try magvit(["reconstruct", url("long.mkv").path, "-o", url("out.mp4").path, "--checkpoint", url("tiny.safetensors").path, "--max-frames", "5"])
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertEqual(try partials(), [], "the dead run's temporary is swept")
    }

    func testDevicesSymlinksAndFoldersAreNotReplaced() throws {
        try SyntheticData.writeVideo(to: url("in.mkv"), frames: 5)
        let model = ["--checkpoint", url("tiny.safetensors").path]
        var r = try magvit(["encode", url("in.mkv").path, "-o", "/dev/null"] + model)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.output.contains("/dev/null is a device; refusing to replace it"), r.output)
        var info = stat()
        XCTAssertEqual(stat("/dev/null", &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR)

        try Data("keep".utf8).write(to: url("target.mgvt"))
        try FileManager.default.createSymbolicLink(atPath: url("link.mgvt").path, withDestinationPath: url("target.mgvt").path)
        r = try magvit(["encode", url("in.mkv").path, "-o", url("link.mgvt").path] + model)
        XCTAssertTrue(r.status != 0 && r.output.contains("link.mgvt is a symbolic link"), r.output)
        XCTAssertEqual(try String(contentsOf: url("target.mgvt"), encoding: .utf8), "keep")
        try FileManager.default.createDirectory(at: url("folder.mp4"), withIntermediateDirectories: true)
        r = try magvit(["reconstruct", url("in.mkv").path, "-o", url("folder.mp4").path] + model)
        XCTAssertTrue(r.status != 0 && r.output.contains("folder.mp4 is a folder"), r.output)
        XCTAssertEqual(try partials(), [])
    }

    func testAFullDestinationIsAMessageWithoutDebris() throws {
        try SyntheticData.writeVideo(to: url("in.mkv"), frames: 40, size: 64)
        // 1 KiB is less than either output needs.
        func limited(_ arguments: [String]) throws -> (Int32, String) {
            try magvit(arguments + ["--checkpoint", url("tiny.safetensors").path], fileSizeLimitKiB: 1)
        }
        var (status, output) = try limited(["encode", url("in.mkv").path, "-o", url("out.mgvt").path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("out.mgvt: cannot write (File too large)"), output)
        let clip = repositoryRoot.appendingPathComponent(".deps/media/carphone_pristine.mp4").path  // real content: more than 1 KiB of H.264
        (status, output) = try limited(["reconstruct", clip, "-o", url("out.mp4").path, "--max-frames", "50"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("out.mp4: ffmpeg failed") && output.contains("File too large"), output)
        XCTAssertFalse(output.contains("NSCocoaErrorDomain"), output)
        XCTAssertEqual(try partials(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: url("out.mgvt").path) || FileManager.default.fileExists(atPath: url("out.mp4").path))
    }

    func testInputsAndSettingsThatWereMisreadAreRefusedByName() throws {
        let model = ["--checkpoint", url("tiny.safetensors").path]
        // A FIFO would block the decoder forever.
        XCTAssertEqual(mkfifo(url("fifo.mp4").path, 0o600), 0)
        var r = try magvit(["encode", url("fifo.mp4").path, "-o", url("f.mgvt").path] + model)
        XCTAssertTrue(r.status != 0 && r.output.contains("fifo.mp4: not a regular file"), r.output)
        // Damage the decoder conceals: a warning, or with --strict an error.
        let clip = repositoryRoot.appendingPathComponent(".deps/media/carphone_pristine.mp4")
        var bytes = try Data(contentsOf: clip)
        for i in stride(from: bytes.count / 2, to: bytes.count / 2 + 2000, by: 50) { bytes[i] ^= 0xFF }
        try bytes.write(to: url("damaged.mp4"))
        r = try magvit(["encode", url("damaged.mp4").path, "-o", url("d.mgvt").path] + model)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("warning: \(url("damaged.mp4").path): the decoder reported"), r.output)
        r = try magvit(["encode", url("damaged.mp4").path, "-o", url("d2.mgvt").path, "--strict"] + model)
        XCTAssertTrue(r.status != 0 && r.output.contains("damaged: the decoder reported"), r.output)
        // Numbers out of range, a 1-byte token file.
        r = try magvit(["encode", clip.path, "-o", url("x.mgvt").path, "--max-frames", "9223372036854775807"] + model)
        XCTAssertTrue(r.output.contains("--max-frames must be 1...1000000000"), r.output)
        r = try magvit(["encode", clip.path, "-o", url("x.mgvt").path, "--size", "100000x100000"] + model)
        XCTAssertTrue(r.status != 0 && r.output.contains("each side must be at most 16384 pixels"), r.output)
        try Data([0x78]).write(to: url("one.mgvt"))
        r = try magvit(["info", url("one.mgvt").path])
        XCTAssertTrue(r.status != 0 && r.output.contains("not a token file: 1 bytes"), r.output)
        try Data("model: {preset: tiny}\nrun: {batch: 2.5}\n".utf8).write(to: url("fraction.yaml"))
        r = try magvit(["train", url("fraction.yaml").path, "-o", url("run").path])
        XCTAssertTrue(r.status != 0 && r.output.contains("'run.batch' must be a whole number, got 2.5"), r.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: url("run").path), "no run folder for a refused config")
        for (batch, fragment) in [("999999999999", "run.batch must be at most 16777216"), ("16777216", "needs at least 720.0 GiB of memory")] {
            try Data("model: {preset: tiny}\ndata: {kind: moving-digits, train: [x]}\nrun: {batch: \(batch)}\n".utf8).write(to: url("big.yaml"))
            r = try magvit(["train", url("big.yaml").path, "-o", url("run").path])
            XCTAssertTrue(r.status == 1 && r.output.contains(fragment), r.output)
            XCTAssertFalse(FileManager.default.fileExists(atPath: url("run").path), "no run folder for a refused config")
        }

        // A checkpoint with NaN weights, and a resolution that is not a multiple of the spatial factor.
        var tensors = try SafeTensors.read(url("tiny.safetensors"))
        let name = try XCTUnwrap(tensors.tensors.keys.sorted().first { tensors.tensors[$0]!.dtype == .float32 })
        tensors.tensors[name] = try tensors.tensors[name]! * Double.nan
        try SafeTensors.write(tensors.tensors, metadata: tensors.metadata, to: url("nan.safetensors"))
        XCTAssertThrowsError(try VideoTokenizer.load(from: url("nan.safetensors"))) {
            XCTAssertTrue("\($0)".contains("NaN or infinite values in 1 tensor(s): \(name)"), "\($0)")
        }
        // A config in the metadata that describes a model far larger than the file is refused before it is built.
        var huge = try JSONSerialization.jsonObject(with: Data(tensors.metadata["magvit.config"]!.utf8)) as! [String: Any]
        huge["baseChannels"] = 4096
        tensors.metadata["magvit.config"] = String(decoding: try JSONSerialization.data(withJSONObject: huge), as: UTF8.self)
        try SafeTensors.write(tensors.tensors, metadata: tensors.metadata, to: url("huge.safetensors"))
        XCTAssertThrowsError(try VideoTokenizer.load(from: url("huge.safetensors"))) {
            XCTAssertTrue("\($0)".contains("describes a model with 8192-channel layers"), "\($0)")
        }
        for resolution in [0, -16, 18] {
            var c = TokenizerConfig.tiny
            c.resolution = resolution
            XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("resolution must be a positive multiple of the spatial factor 4"), "\($0)") }
        }
    }
}
