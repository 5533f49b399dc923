// A check before a run starts that its batches fit in memory, so an absurd batch is a message
// saying how much it needs, not an allocation failure (or the OOM killer) minutes later.
import Foundation
import Torch

public enum MemoryBudget {
    /// The memory a new allocation can get on this machine (MemAvailable of /proc/meminfo); nil
    /// where unknown.
    public static var availableBytes: Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }),
            let kib = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kib * 1024
    }

    /// Refuses a CPU run whose lower bound on memory, `bytes` for `what`, exceeds the available
    /// memory; `fix` says what to change. (GPU memory is the allocator's to report.)
    public static func require(_ bytes: Double, for what: String, on device: Device, fix: String) throws {
        guard device == .cpu, let available = availableBytes, bytes > Double(available) else { return }
        func gib(_ b: Double) -> String { String(format: "%.1f GiB", b / Double(1 << 30)) }
        throw ConfigError("\(what) needs at least \(gib(bytes)) of memory; \(gib(Double(available))) is available. \(fix)")
    }
}
