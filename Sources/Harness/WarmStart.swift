// Where a warm-started model came from. A run that starts from another model's weights saves, as
// its model's "warm_start" metadata, the starting file's name, the hash of the weights it took and
// how that file was trained (its own training metadata, its own warm start nested), so a model
// trained in several runs on several machines tells its whole lineage. A model made by `magvit
// import` holds an "imported" record instead (format, source file, its SHA-256), where the chain ends.
import Foundation

public enum WarmStart {
    /// The starting file's metadata kept in the record: how it was trained.
    static let kept = ["eval", "imported", "training", "training_config", "training_data", "training_device", "training_seconds", "cpu_seconds",
                       "training_steps", "wall_seconds", "warm_start", "world_size"]

    /// The record of a start from the file at `url` with `metadata`, whose weights, as loaded, hash to
    /// `weightsHash` (`ParameterStore.weightsHash`): JSON with sorted keys. Metadata values that are
    /// JSON themselves (a config, an earlier warm start) are kept as JSON.
    public static func record(of url: URL, metadata: [String: String], weightsHash: String) throws -> String {
        var record: [String: Any] = ["file": url.lastPathComponent, "weights_sha256": weightsHash]
        for key in kept {
            guard let value = metadata[key] else { continue }
            if value.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(value.utf8)) {
                record[key] = object
            } else {
                record[key] = value
            }
        }
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// The runs that made a model, newest first, one line each ("N steps, S s on DEVICE"), from its
    /// metadata and the warm starts nested in it, ending with the checkpoint it was imported from when
    /// it was; empty for a file with neither.
    public static func lineage(_ metadata: [String: String]) -> [String] {
        var lines: [String] = []
        var level: [String: Any]? = metadata
        var name = "this model"
        while let record = level, record["training_steps"] != nil || record["training_seconds"] != nil || record["training"] != nil {
            let steps = (record["training_steps"] as? String).map { "\($0) steps" }
            let seconds = (record["training_seconds"] as? String).map { "\($0) s" }
            let device = (record["training_device"] as? String).map { " on \($0)" } ?? ""
            let text = [steps, seconds].compactMap { $0 }.joined(separator: ", ") + device
            lines.append("\(name): " + (text.isEmpty ? (record["training"] as? String ?? "") : text))
            var next: Any? = record["warm_start"]
            if let json = next as? String { next = try? JSONSerialization.jsonObject(with: Data(json.utf8)) }
            level = next as? [String: Any]
            name = "warm start from \(level?["file"] as? String ?? "?")" + ((level?["weights_sha256"] as? String).map { " (\($0.prefix(12)))" } ?? "")
        }
        var imported: Any? = level?["imported"]
        if let json = imported as? String { imported = try? JSONSerialization.jsonObject(with: Data(json.utf8)) }
        if let record = imported as? [String: Any] {
            let format = record["format"] as? String ?? "?", file = record["file"] as? String ?? "?"
            let hash = (record["sha256"] as? String).map { ", sha256 \($0.prefix(12))" } ?? ""
            let weights = (record["weights"] as? String).map { ", \($0 == "ema" ? "EMA" : "training") weights" } ?? ""
            let video = record["video"] != nil ? ", inflated to video" : ""
            lines.append("\(name): imported from \(format) checkpoint \(file)\(hash)\(weights)\(video)")
        }
        return lines
    }
}
