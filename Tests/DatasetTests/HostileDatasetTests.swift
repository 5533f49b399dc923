// Hostile token datasets and tokenize states, crafted as files: every number and name read from them
// is checked before use and refused with the field named (an index whose clips add up past Int.max,
// shard entries listed twice or naming other files, ids outside the vocabulary, labels outside the
// classes, sources outside the list, a resume state pointing before the first file).
@testable import Dataset
import Codec
import Foundation
import NN
import Tokenizer
import Torch
import XCTest

final class HostileDatasetTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-hostile-dataset-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    static let grid = [1, 2, 2]

    /// Shard tensors of `n` clips: ids 0..., sources 0, labels 0, changed by `edit`.
    static func shardTensors(_ n: Int, _ edit: (inout [String: Tensor]) throws -> Void = { _ in }) throws -> [String: Tensor] {
        func int32(_ v: [Int32]) throws -> Tensor { try Tensor(v, shape: [n]) }
        var t: [String: Tensor] = [
            "ids": try Tensor((0..<(4 * n)).map { Int32($0 % 64) }, shape: [n] + grid), "source": try int32(.init(repeating: 0, count: n)),
            "clip_index": try int32((0..<n).map(Int32.init)), "start_frame": try int32(.init(repeating: 0, count: n)),
            "frames": try int32(.init(repeating: 1, count: n)), "label": try int32(.init(repeating: 0, count: n)),
            "fps": try Tensor([Double](repeating: 25, count: n), shape: [n]),
        ]
        try edit(&t)
        return t
    }

    /// A dataset folder of shards (each its tensors and its `sources` list) and an index changed by `edit`.
    func writeDataset(_ name: String, shards: [([String: Tensor], [String])], edit: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        var entries: [DatasetIndex.Shard] = []
        for (i, (tensors, sources)) in shards.enumerated() {
            let data = try SafeTensors.encoded(tensors, metadata: ["format": "magvit-token-shard", "sources": String(decoding: try JSONEncoder().encode(sources), as: UTF8.self)])
            try data.write(to: url.appendingPathComponent(TokenDataset.shardName(i)))
            entries.append(.init(file: TokenDataset.shardName(i), clips: tensors["ids"]!.size(0), sha256: sha256Hex(data)))
        }
        var config = TokenizerConfig.tiny
        config.quantizer = QuantizerConfig(kind: .lfq, bits: 6)
        let index = DatasetIndex(tokenizer: .init(name: "tiny", config: config, weights: String(repeating: "ab", count: 32)), bits: 6, codebookSize: 64,
                                 grid: Self.grid, clipFrames: 1, size: [16, 16], resampleFPS: nil, shardSize: 4, shards: entries,
                                 clips: entries.map(\.clips).reduce(0, +), files: 1, failures: [], classes: ["a", "b"], labels: "folders", inputsSHA256: "x")
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: try JSONEncoder().encode(index)) as? [String: Any])
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url.appendingPathComponent(TokenDataset.indexName))
        return url
    }

    func refusal(_ url: URL) -> String {
        do { _ = try TokenDataset(url).allTokens(); return "accepted" } catch { return "\(error)" }
    }

    func testHostileIndexesAreRefusedByField() throws {
        let one = [(try Self.shardTensors(2), ["/v/a.mp4"])]
        XCTAssertEqual(refusal(try writeDataset("valid", shards: one)), "accepted")
        func shards(_ edit: @escaping (inout [[String: Any]]) -> Void) -> (inout [String: Any]) -> Void {
            { json in var s = json["shards"] as! [[String: Any]]; edit(&s); json["shards"] = s }
        }
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("clips must be 0...4, found 9223372036854775807", shards { s in
                s[0]["clips"] = Int.max
                s.append(["file": TokenDataset.shardName(1), "clips": Int.max, "sha256": String(repeating: "1", count: 64)]) }),
            ("7 clips, but the shards hold 2", { $0["clips"] = 7 }),
            ("clips must be 0...4, found 4611686018427387904", shards { $0[0]["clips"] = 1 << 62 }),
            ("clips must be 0...4, found -1", shards { $0[0]["clips"] = -1 }),
            ("shard 1 must be the file tokens-00001.safetensors, found 'tokens-00000.safetensors'", shards { $0.append($0[0]) }),
            ("shard 0 must be the file tokens-00000.safetensors, found '../../etc/passwd'", shards { $0[0]["file"] = "../../etc/passwd" }),
            ("sha256 must be 64 lowercase hex digits", shards { $0[0]["sha256"] = "zz" }),
            ("bits must be 1...30", { $0["bits"] = 62 }),
            ("grid must be [t, h, w] of 1...4096 each", { $0["grid"] = [1, 2, -2] }),
            ("class names must be distinct", { $0["classes"] = ["a", "a"] }),
        ]
        for (i, (expected, edit)) in cases.enumerated() {
            let message = refusal(try writeDataset("index-\(i)", shards: one, edit: edit))
            XCTAssertTrue(message.contains(expected), "expected '\(expected)', got: \(message)")
        }
    }

    /// An index that is a folder (or a link to one) says so in the system's words, not Foundation's
    /// "NSCocoaErrorDomain error 256" (found by the token-dataset campaign, 3 of 300 cases).
    func testAnIndexThatIsAFolderIsNamedAsOne() throws {
        for (name, link) in [("folder", false), ("linked", true)] {
            let url = folder.appendingPathComponent(name)
            let index = url.appendingPathComponent(TokenDataset.indexName)
            let target = folder.appendingPathComponent("elsewhere-\(name)")
            try FileManager.default.createDirectory(at: link ? target : index, withIntermediateDirectories: true)
            if link {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
                try FileManager.default.createSymbolicLink(at: index, withDestinationURL: target)
            }
            let message = refusal(url)
            XCTAssertTrue(message.contains("cannot read the dataset index (Is a directory)"), message)
            XCTAssertFalse(message.contains("NSCocoaErrorDomain"), message)
        }
    }

    func testShardValuesOutsideTheirRangesAreRefused() throws {
        let cases: [(String, [String: Tensor], [String])] = [
            ("'ids' holds 57...64, outside 0..<64 (6-bit codes)", try Self.shardTensors(2) { $0["ids"] = try $0["ids"]! + 57 }, ["/v/a.mp4"]),
            ("'ids' holds -1...6", try Self.shardTensors(2) { $0["ids"] = try $0["ids"]! - 1 }, ["/v/a.mp4"]),
            ("'label' holds 0...2, outside -1..<2 (2 classes)", try Self.shardTensors(2) { $0["label"] = try Tensor([Int32(0), 2], shape: [2]) }, ["/v/a.mp4"]),
            ("'source' holds -1...0, outside 0..<1 (1 sources)", try Self.shardTensors(2) { $0["source"] = try Tensor([Int32(0), -1], shape: [2]) }, ["/v/a.mp4"]),
            ("'source' holds 0...5, outside 0..<1", try Self.shardTensors(2) { $0["source"] = try Tensor([Int32(0), 5], shape: [2]) }, ["/v/a.mp4"]),
            ("'source' holds 0...0, outside 0..<0", try Self.shardTensors(2), []),
            ("expected a int32 tensor 'source'", try Self.shardTensors(2) { $0["source"] = try Tensor([Float.nan, 0], shape: [2]) }, ["/v/a.mp4"]),
        ]
        for (i, (expected, tensors, sources)) in cases.enumerated() {
            let message = refusal(try writeDataset("shard-\(i)", shards: [(tensors, sources)]))
            XCTAssertTrue(message.contains(expected), "expected '\(expected)', got: \(message)")
        }
    }

    func testTamperedTokenizeStatesAreRefused() throws {
        let input = folder.appendingPathComponent("in/a.mkv")
        try FileManager.default.createDirectory(at: input.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("not decoded: the state is refused first".utf8).write(to: input)
        Torch.manualSeed(0)
        var options = TokenizeOptions()
        options.shardSize = 2
        let output = folder.appendingPathComponent("out")
        let job = try Tokenization(model: try VideoTokenizer(config: .tiny), inputs: InputList(files: [input.path]), labels: .none, output: output, options: options)
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        let shard = try SafeTensors.encoded(try Self.shardTensors(2), metadata: ["sources": "[\"/v/a.mp4\"]"])
        try shard.write(to: output.appendingPathComponent(TokenDataset.shardName(0)))
        let good = DatasetIndex.Shard(file: TokenDataset.shardName(0), clips: 2, sha256: sha256Hex(shard))
        func refusal(_ edit: (inout Tokenization.State) -> Void) throws -> String {
            var state = Tokenization.State(settings: job.settings, shards: [good], next: .init(file: 0, clip: 2))
            edit(&state)
            try JSONEncoder().encode(state).write(to: output.appendingPathComponent(Tokenization.stateName))
            do { _ = try job.resumeState(); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertEqual(try refusal { _ in }, "accepted")
        let cases: [(String, (inout Tokenization.State) -> Void)] = [
            ("next must be a file in 0...1 and a clip ≥ 0 (0 after the last file), found file -1", { $0.next.file = -1 }),
            ("found file 0, clip -4", { $0.next.clip = -4 }),
            ("found file 1, clip 3", { $0.next = .init(file: 1, clip: 3) }),
            ("shard 0 must be the file tokens-00000.safetensors, found '../x.safetensors'", { $0.shards[0].file = "../x.safetensors" }),
            ("shard 1 must be the file tokens-00001.safetensors", { $0.shards.append(good) }),
            ("tokens-00000.safetensors: clips must be 0...2, found -3", { $0.shards[0].clips = -3 }),
            ("tokens-00000.safetensors is recorded with 1 clips, a shard holds 2", { $0.shards[0].clips = 1 }),
            ("sha256 must be 64 lowercase hex digits", { $0.shards[0].sha256 = "../../" }),
            ("tokens-00000.safetensors differs from the SHA-256 recorded for it", { $0.shards[0].sha256 = String(repeating: "0", count: 64) }),
            ("2 failures recorded before file 1", { s in s.next = .init(file: 1); s.failures = [.init(path: "a", error: "x"), .init(path: "b", error: "y")] }),
        ]
        for (expected, edit) in cases {
            let message = try refusal(edit)
            XCTAssertTrue(message.contains(expected) && message.contains("remove the folder to start again"), "expected '\(expected)', got: \(message)")
        }
    }
}
