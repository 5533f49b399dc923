// Where a warm-started model came from. A run that starts from another model's weights saves, as
// its model's "warm_start" metadata, the starting file's name, the hash of the weights it took and
// how that file was trained (its own training metadata, its own warm start nested), so a model
// trained in several runs on several machines tells its whole lineage.
import Foundation
import NN

public enum WarmStart {
    /// The starting file's metadata kept in the record: how it was trained.
    static let kept = ["eval", "training", "training_config", "training_data", "training_device", "training_seconds",
                       "training_steps", "wall_seconds", "warm_start", "world_size"]

    /// The record of a start from `url` whose weights, as loaded, hash to `weightsHash`
    /// (`ParameterStore.weightsHash`): JSON with sorted keys. Metadata values that are JSON
    /// themselves (a config, an earlier warm start) are kept as JSON.
    public static func record(of url: URL, weightsHash: String) throws -> String {
        let metadata = try SafeTensors.read(url).metadata
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
}
