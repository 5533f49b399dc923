// Training checkpoints as named state groups: each group's tensors are stored under "group.name",
// with the run's counters and the trainer's small state in the metadata. Written atomically, read
// strictly: a group the trainer has and the file lacks (or the reverse) is an error.
import Foundation
import NN
import Torch

/// A named part of a training checkpoint: weights, optimizer moments, averages.
public protocol CheckpointGroup: AnyObject {
    func checkpointTensors() throws -> [String: Tensor]
    func restore(checkpointTensors: [String: Tensor]) throws
}

extension ParameterStore: CheckpointGroup {
    public func checkpointTensors() throws -> [String: Tensor] { try snapshot() }
    public func restore(checkpointTensors tensors: [String: Tensor]) throws { try load(tensors) }
}

extension Adam: CheckpointGroup {
    public func checkpointTensors() throws -> [String: Tensor] { try state() }
    public func restore(checkpointTensors tensors: [String: Tensor]) throws { try load(state: tensors) }
}

extension ExponentialMovingAverage: CheckpointGroup {
    public func checkpointTensors() throws -> [String: Tensor] { shadow }
    public func restore(checkpointTensors tensors: [String: Tensor]) throws { try load(tensors) }
}

/// What a checkpoint holds besides tensors.
struct CheckpointCounters {
    static let format = "magvit-run-v2"
    var step: Int
    var totalSteps: Int
    var elapsed: Double
    var wall: Double
    /// CPU seconds of the process in training steps (the batch thread's included), across resumes.
    var cpu: Double = 0
}

enum Checkpoint {
    /// Writes every group's tensors under its name, the counters, `identity` (compared on resume)
    /// and the trainer's `extra` state.
    static func save(to url: URL, groups: [String: any CheckpointGroup], counters: CheckpointCounters,
                     identity: [String: String], extra: [String: String], config: String) throws {
        var tensors: [String: Tensor] = [:]
        for (group, state) in groups {
            for (k, v) in try state.checkpointTensors() { tensors[group + "." + k] = v }
        }
        var metadata = ["magvit.format": CheckpointCounters.format, "step": "\(counters.step)", "total_steps": "\(counters.totalSteps)",
                        "elapsed_seconds": "\(counters.elapsed)", "wall_seconds": "\(counters.wall)", "cpu_seconds": "\(counters.cpu)", "config": config,
                        "groups": groups.keys.sorted().joined(separator: ",")]
        for (k, v) in identity { metadata["identity." + k] = v }
        for (k, v) in extra { metadata["extra." + k] = v }
        try SafeTensors.write(tensors, metadata: metadata, to: url)
    }

    /// Restores the groups from `url` after checking the format, the group names and `identity`;
    /// returns the counters and the trainer's extra state.
    static func restore(from url: URL, groups: [String: any CheckpointGroup], identity: [String: String]) throws
        -> (CheckpointCounters, [String: String])
    {
        let file = try SafeTensors.read(url)
        let m = file.metadata
        guard m["magvit.format"] == CheckpointCounters.format, let step = m["step"].flatMap(Int.init), let total = m["total_steps"].flatMap(Int.init) else {
            throw ConfigError("\(url.path) is not a Magvit training checkpoint (\(CheckpointCounters.format))")
        }
        for (key, value) in identity.sorted(by: { $0.key < $1.key }) where m["identity." + key] != value {
            throw ConfigError("\(url.path) was saved by a run with another \(key.replacingOccurrences(of: "_", with: " ")); resume with the config it was started with")
        }
        let saved = Set((m["groups"] ?? "").split(separator: ",").map(String.init))
        let wanted = Set(groups.keys)
        if saved != wanted {
            let missing = wanted.subtracting(saved).sorted(), extra = saved.subtracting(wanted).sorted()
            throw ConfigError("\(url.path) holds the state groups \(saved.sorted()) but this run has \(wanted.sorted())"
                + (missing.isEmpty ? "" : "; missing: \(missing.joined(separator: ", "))")
                + (extra.isEmpty ? "" : "; not used by this config: \(extra.joined(separator: ", "))")
                + " (the checkpoint was saved with other settings, e.g. with or without the GAN or EMA)")
        }
        for (group, state) in groups {
            do { try state.restore(checkpointTensors: file.tensors(prefixed: group + ".")) } catch {
                throw ConfigError("\(url.path): the '\(group)' state does not fit this run: \(error)")
            }
        }
        // Numbers from the file: in range before the harness computes with them.
        let elapsed: Double, wall: Double, cpu: Double
        do {
            for (name, value) in [("step", step), ("total_steps", total)] { _ = try Checked.integer(value, as: Int.self, name, in: 0...Adam.maxStep) }
            elapsed = try Checked.finite(m["elapsed_seconds"].flatMap(Double.init) ?? 0, "elapsed_seconds", in: 0...1e12)
            wall = try Checked.finite(m["wall_seconds"].flatMap(Double.init) ?? elapsed, "wall_seconds", in: 0...1e12)
            cpu = try Checked.finite(m["cpu_seconds"].flatMap(Double.init) ?? 0, "cpu_seconds", in: 0...1e12)
        } catch { throw ConfigError("\(url.path): \(error)") }
        let counters = CheckpointCounters(step: step, totalSteps: total, elapsed: elapsed, wall: wall, cpu: cpu)
        var extra: [String: String] = [:]
        for (k, v) in m where k.hasPrefix("extra.") { extra[String(k.dropFirst(6))] = v }
        return (counters, extra)
    }

}
