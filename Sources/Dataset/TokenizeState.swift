// A tokenize folder's state between runs: the settings that must match for it to be resumed or
// reused, and `.tokenize-state.json` (the shards written, the failures, where the next shard starts),
// written after each shard and checked against the files there before a run resumes.
import Foundation
import Torch

extension Tokenization {
    /// What must match for a folder to be resumed or reused.
    struct Settings: Codable, Equatable {
        var tokenizerWeights: String
        var inputsSHA256: String
        var size: [Int]
        var centerCrop: Bool
        var fps: Double?
        var batch: Int
        var shardSize: Int
        var labels: String
        var classes: [String]
    }

    struct Position: Codable, Equatable {
        var file = 0
        var clip = 0
    }

    /// `.tokenize-state.json`: the shards written, the files that failed before `next`, and where
    /// the next shard starts.
    struct State: Codable {
        var settings: Settings
        var shards: [DatasetIndex.Shard] = []
        var failures: [DatasetIndex.Failure] = []
        var next = Position()
    }

    /// The index of a finished dataset in the output made with these settings (nil when unfinished);
    /// a dataset made otherwise is refused.
    func finishedIndex() throws -> DatasetIndex? {
        guard FileManager.default.fileExists(atPath: indexURL.path) else { return nil }
        let dataset = try TokenDataset(output)
        try dataset.checkTokenizer(weights: weights, name: name)
        let i = dataset.index
        guard i.inputsSHA256 == settings.inputsSHA256, i.size == settings.size, i.resampleFPS == settings.fps, i.shardSize == settings.shardSize,
            i.classes == settings.classes
        else {
            throw DatasetError("\(output.path) already holds a dataset of other inputs or settings; choose another folder (or remove it)")
        }
        try? FileManager.default.removeItem(at: stateURL)
        return i
    }

    /// The state of an unfinished run into the same folder, checked against these settings; nil for a
    /// new folder. A non-empty folder that is not a dataset is refused.
    func resumeState() throws -> State? {
        guard let data = try? Data(contentsOf: stateURL) else {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
            guard entries.filter({ !$0.hasPrefix(".") }).isEmpty else {
                throw DatasetError("\(output.path) exists and is not a token dataset; choose a new or empty folder")
            }
            return nil
        }
        guard let state = try? JSONDecoder().decode(State.self, from: data) else {
            throw DatasetError("\(stateURL.path): unreadable resume state; remove the folder to start again")
        }
        guard state.settings == settings else {
            let differing = differences(state.settings, settings)
            throw DatasetError("\(output.path) holds an unfinished dataset made with other settings (\(differing)); rerun with the same ones or choose another folder")
        }
        do { try check(state) } catch let error as DatasetError {
            throw DatasetError("\(stateURL.path): \(error.description); remove the folder to start again")
        }
        return state
    }

    /// Checks a resume state as read from the folder: every shard full, named in order and with
    /// the hash of the file there, the next position inside the inputs, failures only before it.
    func check(_ state: State) throws {
        try DatasetIndex.validate(state.shards, shardSize: settings.shardSize)
        let files = inputs.files.count, next = state.next
        guard (0...files).contains(next.file), next.clip >= 0, next.file < files || next.clip == 0 else {
            throw DatasetError("next must be a file in 0...\(files) and a clip ≥ 0 (0 after the last file), found file \(next.file), clip \(next.clip)")
        }
        guard state.failures.count <= next.file else { throw DatasetError("\(state.failures.count) failures recorded before file \(next.file)") }
        for shard in state.shards {
            guard shard.clips == settings.shardSize else { throw DatasetError("\(shard.file) is recorded with \(shard.clips) clips, a shard holds \(settings.shardSize)") }
            guard let data = try? Data(contentsOf: output.appendingPathComponent(shard.file)) else { throw DatasetError("\(shard.file) is missing") }
            guard sha256Hex(data) == shard.sha256 else { throw DatasetError("\(shard.file) differs from the SHA-256 recorded for it") }
        }
    }

    func saveState(_ state: State) throws {
        try OutputFiles.write(try JSONEncoder().encode(state), to: stateURL)
    }

    private func differences(_ a: Settings, _ b: Settings) -> String {
        var out: [String] = []
        if a.tokenizerWeights != b.tokenizerWeights { out.append("tokenizer weights \(a.tokenizerWeights.prefix(12)) vs \(b.tokenizerWeights.prefix(12))") }
        if a.inputsSHA256 != b.inputsSHA256 { out.append("the input files") }
        if a.size != b.size { out.append("size \(a.size) vs \(b.size)") }
        if a.fps != b.fps { out.append("fps") }
        if a.batch != b.batch { out.append("batch \(a.batch) vs \(b.batch)") }
        if a.shardSize != b.shardSize { out.append("shard size \(a.shardSize) vs \(b.shardSize)") }
        if a.labels != b.labels || a.classes != b.classes { out.append("labels") }
        if a.centerCrop != b.centerCrop { out.append("crop") }
        return out.joined(separator: ", ")
    }
}
