// Whether a process the test started (or one of its children) has ended.
import Foundation

/// Whether `pid` is gone (or a zombie waiting for a reaper).
public func processEnded(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(after: close)...].split(separator: " ").first == "Z"
}
