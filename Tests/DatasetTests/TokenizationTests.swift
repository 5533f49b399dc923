// Token datasets: shards against `encode` of the same clips, labels, a corrupt input skipped and
// counted, resume after SIGKILL byte-identical to an uninterrupted run, the Python reader, and the
// refusals (corrupt shard, other tokenizer, other settings, a folder that is not a dataset).
import Codec
import Dataset
import Foundation
import Media
import NN
import TestSupport
import Tokenizer
import Torch
import XCTest

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

final class TokenizationTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-dataset-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    func writeClip(_ name: String, frames: Int) throws { try SyntheticData.writeVideo(to: url(name), frames: frames) }

    /// cats/a (10 frames: 2 clips), cats/b (3: a padded clip), dogs/broken (not a video), dogs/c (7: 2 clips).
    func writeLabelledSet() throws {
        Torch.manualSeed(3)
        try writeClip("in/cats/a.mkv", frames: 10)
        try writeClip("in/cats/b.mkv", frames: 3)
        try writeClip("in/dogs/c.mkv", frames: 7)
        try Data("this is not a video".utf8).write(to: url("in/dogs/broken.mp4"))
    }

    func tokenize(_ model: VideoTokenizer, _ inputs: [String], labels: LabelSource = .none, to output: URL,
                  batch: Int = 4, shardSize: Int = 3) throws -> DatasetIndex {
        var options = TokenizeOptions()
        (options.batch, options.shardSize, options.workers) = (batch, shardSize, 2)
        return try Tokenization(model: model, inputs: InputList.expand(inputs, labels: labels), labels: labels, output: output, options: options).run()
    }

    func records(_ output: URL) throws -> [ClipRecord] {
        let dataset = try TokenDataset(output)
        return try dataset.index.shards.indices.flatMap { try dataset.shard($0).records() }
    }

    func testShardsHoldTheIdsOfEncodeWithLabelsAndTheBrokenFileCounted() throws {
        try writeLabelledSet()
        Torch.manualSeed(0)
        let model = try VideoTokenizer(config: .tiny)
        let index = try tokenize(model, [url("in").path], labels: .folders, to: url("ds"))
        XCTAssertEqual(index.files, 4)
        XCTAssertEqual(index.failures.map { URL(fileURLWithPath: $0.path).lastPathComponent }, ["broken.mp4"])
        XCTAssertEqual(index.classes, ["cats", "dogs"])
        XCTAssertEqual(index.shards.map(\.clips), [3, 2])
        XCTAssertEqual(index.grid, [3, 4, 4])
        let clips = try records(url("ds"))
        XCTAssertEqual(clips.map { URL(fileURLWithPath: $0.source).lastPathComponent }, ["a.mkv", "a.mkv", "b.mkv", "c.mkv", "c.mkv"])
        XCTAssertEqual(clips.map(\.clipIndex), [0, 1, 0, 0, 1])
        XCTAssertEqual(clips.map(\.startFrame), [0, 5, 0, 0, 5])
        XCTAssertEqual(clips.map(\.frames), [5, 5, 3, 5, 2])
        XCTAssertEqual(clips.map(\.label), [0, 0, 0, 1, 1])
        XCTAssertEqual(clips.map(\.fps), Array(repeating: 25, count: 5))

        // The same ids as `encode` of each file, clip by clip (batch 1, the tail padded only to a length
        // the tokenizer takes): whole clips equal, a padded tail equal over the latent frames both have.
        let codec = try VideoCodec(model: model)
        let perFrame = 4 * 4
        for name in ["cats/a.mkv", "cats/b.mkv", "dogs/c.mkv"] {
            let file = try codec.encode(path: url("in/\(name)").path)
            let mine = clips.filter { $0.source.hasSuffix(name) }
            XCTAssertEqual(file.header.chunks.count, mine.count, name)
            var offset = 0
            for (chunk, clip) in zip(file.header.chunks, mine) {
                let n = chunk.latentFrames * perFrame
                XCTAssertEqual(file.ids[offset..<(offset + n)].map(Int32.init), Array(clip.ids.prefix(n)), "\(name) clip \(clip.clipIndex)")
                offset += n
            }
        }

        // Rerunning finds it finished; another tokenizer is refused by its weights hash.
        XCTAssertEqual(try tokenize(model, [url("in").path], labels: .folders, to: url("ds")), index)
        Torch.manualSeed(1)
        XCTAssertThrowsError(try tokenize(VideoTokenizer(config: .tiny), [url("in").path], labels: .folders, to: url("ds"))) {
            XCTAssertTrue("\($0)".contains("was tokenized by 'tiny' (weights"), "\($0)")
        }
        XCTAssertThrowsError(try TokenDataset(url("ds")).checkTokenizer(weights: "0123456789abcdef", name: "other")) {
            XCTAssertTrue("\($0)".contains("not by 'other'"), "\($0)")
        }
    }

    func testToolReportsSkippedFilesInItsExitStatus() throws {
        try writeLabelledSet()
        let r = try magvit(["tokenize", url("in").path, "-o", url("ds").path, "--labels", "folders", "--untrained", "tiny", "--batch", "2"])
        XCTAssertEqual(r.status, 2, r.output)
        XCTAssertTrue(r.output.contains("5 clips of 3x4x4 tokens (5 frames at 16x16) in 1 shard, 2 classes, from 3 of 4 files"), r.output)
        XCTAssertTrue(r.output.contains("broken.mp4") && r.output.contains("1 of 4 files could not be decoded"), r.output)
        let unknown = try magvit(["tokenize", url("nowhere").path, "-o", url("ds2").path, "--untrained", "tiny"])
        XCTAssertEqual(unknown.status, 1, unknown.output)
        XCTAssertTrue(unknown.output.contains("nowhere: no such file or folder"), unknown.output)
    }

    func testResumeAfterSIGKILLWritesTheSameShardsAsAnUninterruptedRun() throws {
        Torch.manualSeed(5)
        for i in 0..<40 { try writeClip(String(format: "in/v%02d.mkv", i), frames: 10) }
        let arguments = { (out: URL) in ["tokenize", self.url("in").path, "-o", out.path, "--untrained", "tiny", "--batch", "3", "--shard-size", "4"] }
        let whole = try magvit(arguments(url("whole")))
        XCTAssertEqual(whole.status, 0, whole.output)

        let killed = url("killed"), state = killed.appendingPathComponent(".tokenize-state.json")
        try killWithSIGKILL(magvitTool, arguments(killed)) {
            guard let data = try? Data(contentsOf: state), let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
            return (json["shards"] as? [Any])?.count ?? 0 >= 2
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: killed.appendingPathComponent("dataset.json").path), "not presented as finished")
        XCTAssertThrowsError(try TokenDataset(killed)) { XCTAssertTrue("\($0)".contains("unfinished dataset"), "\($0)") }
        let resumed = try magvit(arguments(killed))
        XCTAssertEqual(resumed.status, 0, resumed.output)

        let names = try FileManager.default.contentsOfDirectory(atPath: url("whole").path).sorted()
        XCTAssertEqual(names.count, 22)  // 20 shards, the index and the folder marker
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: killed.path).sorted(), names)
        for name in names {
            XCTAssertEqual(try Data(contentsOf: url("whole").appendingPathComponent(name)), try Data(contentsOf: killed.appendingPathComponent(name)), name)
        }
    }

    func testPythonReaderReadsWhatSwiftWrote() throws {
        let tools = repositoryRoot.appendingPathComponent(".deps/python-tools")
        guard FileManager.default.fileExists(atPath: tools.path) else { throw XCTSkip("run scripts/setup.sh for Python safetensors") }
        try writeLabelledSet()
        Torch.manualSeed(0)
        _ = try tokenize(try VideoTokenizer(config: .tiny), [url("in").path], labels: .folders, to: url("ds"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot.appendingPathComponent("scripts/read_tokens.py").path, url("ds").path, "--json"]
        process.environment = ProcessInfo.processInfo.environment.merging(["PYTHONPATH": tools.path]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        let clips = try records(url("ds"))
        XCTAssertEqual(rows.count, clips.count)
        for (row, clip) in zip(rows, clips) {
            XCTAssertEqual((row["ids"] as? [Int])?.map(Int32.init), clip.ids)
            XCTAssertEqual(row["source"] as? String, clip.source)
            XCTAssertEqual(row["clip_index"] as? Int, clip.clipIndex)
            XCTAssertEqual(row["start_frame"] as? Int, clip.startFrame)
            XCTAssertEqual(row["frames"] as? Int, clip.frames)
            XCTAssertEqual(row["label"] as? Int, clip.label)
            XCTAssertEqual(row["fps"] as? Double, clip.fps)
        }
    }

    func testBadDatasetsAreRefusedWithTheirNames() throws {
        Torch.manualSeed(3)
        try writeClip("in/a.mkv", frames: 10)
        Torch.manualSeed(0)
        let model = try VideoTokenizer(config: .tiny)
        _ = try tokenize(model, [url("in").path], to: url("ds"), shardSize: 1)
        let shard = url("ds/tokens-00001.safetensors")
        var bytes = try Data(contentsOf: shard)
        bytes[bytes.count - 3] ^= 0x01
        try bytes.write(to: shard)
        XCTAssertThrowsError(try TokenDataset(url("ds")).allTokens()) {
            XCTAssertTrue("\($0)".contains("tokens-00001.safetensors: corrupt shard"), "\($0)")
        }
        // Not a dataset; another folder's contents are never written into.
        try FileManager.default.createDirectory(at: url("mine"), withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: url("mine/notes.txt"))
        XCTAssertThrowsError(try TokenDataset(url("mine"))) { XCTAssertTrue("\($0)".contains("not a token dataset"), "\($0)") }
        XCTAssertThrowsError(try tokenize(model, [url("in").path], to: url("mine"))) {
            XCTAssertTrue("\($0)".contains("exists and is not a token dataset"), "\($0)")
        }
        // The same folder with other settings is refused.
        XCTAssertThrowsError(try tokenize(model, [url("in").path], to: url("ds"), shardSize: 2)) {
            XCTAssertTrue("\($0)".contains("other inputs or settings"), "\($0)")
        }
        // A video shorter than one clip is padded, an empty input list refused.
        XCTAssertThrowsError(try InputList.expand([])) { XCTAssertTrue("\($0)".contains("no inputs"), "\($0)") }
        XCTAssertThrowsError(try InputList.expand([url("in").path], labels: .folders)) {
            XCTAssertTrue("\($0)".contains("must be in a sub-folder named for its class"), "\($0)")
        }
    }

    func testInputsFromGlobsListsAndCSVLabels() throws {
        Torch.manualSeed(3)
        try writeClip("in/x/one.mkv", frames: 5)
        try writeClip("in/two.mkv", frames: 5)
        try Data("in/x/one.mkv\n# a comment\n\nin/two.mkv\n".utf8).write(to: url("list.txt"))
        let listed = try InputList.expand([url("list.txt").path])
        XCTAssertEqual(listed.files.map { URL(fileURLWithPath: $0).lastPathComponent }, ["one.mkv", "two.mkv"])
        let globbed = try InputList.expand([url("in").path + "/*.mkv", url("in").path])
        XCTAssertEqual(globbed.files.map { URL(fileURLWithPath: $0).lastPathComponent }, ["two.mkv", "one.mkv"], "once each, in input order")
        try Data("path,label\nin/x/one.mkv,run\ntwo.mkv,walk\n".utf8).write(to: url("labels.csv"))
        let labelled = try InputList.expand([url("in").path], labels: .csv(url("labels.csv").path))
        XCTAssertEqual(labelled.classes, ["run", "walk"])
        XCTAssertEqual(labelled.labels, [1, 0])  // in/two.mkv sorts before in/x/one.mkv
        try Data("path,label\ntwo.mkv,walk\n".utf8).write(to: url("partial.csv"))
        XCTAssertThrowsError(try InputList.expand([url("in").path], labels: .csv(url("partial.csv").path))) {
            XCTAssertTrue("\($0)".contains("one.mkv: no row in"), "\($0)")
        }
    }
}
