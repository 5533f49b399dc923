// The record of a run: a JSON-lines file (one object per log step or evaluation, appended and
// flushed as it happens) and a progress line on the terminal with losses, steps/s and ETA.
import Foundation

public final class TrainingLog {
    public let url: URL
    private let handle: FileHandle
    private let interactive = isatty(2) != 0
    /// Where human-readable lines go (standard output by default).
    private let echo: (String) -> Void

    /// Opens `url` for appending; `keepingThrough` (on resume) first drops records after that step,
    /// so the file reads as one uninterrupted run.
    public init(url: URL, keepingThrough step: Int?, echo: @escaping (String) -> Void) throws {
        self.url = url
        self.echo = echo
        let manager = FileManager.default
        if let step, let text = try? String(contentsOf: url, encoding: .utf8) {
            let kept = text.split(separator: "\n").filter { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let s = object["step"] as? Int else { return false }
                return s <= step
            }
            let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
            try Data(kept.map { $0 + "\n" }.joined().utf8).write(to: temporary)
            _ = rename(temporary.path, url.path)
        } else if step == nil || !manager.fileExists(atPath: url.path) {
            _ = manager.createFile(atPath: url.path, contents: nil)
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// Appends one record (keys sorted, numbers at full precision).
    public func record(_ values: [String: Any]) throws {
        let data = try JSONSerialization.data(withJSONObject: values, options: [.sortedKeys])
        try handle.write(contentsOf: data + Data("\n".utf8))
    }

    /// A line for the reader (and the end of any progress bar on the terminal).
    public func say(_ line: String) {
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        echo(line)
    }

    /// Redraws the one-line progress bar on a terminal; does nothing when standard error is a file.
    public func progress(step: Int, of total: Int, stepsPerSecond: Double, loss: Double) {
        guard interactive else { return }
        let fraction = Double(step) / Double(Swift.max(total, 1))
        let filled = Int(fraction * 24)
        let eta = stepsPerSecond > 0 ? Double(total - step) / stepsPerSecond : 0
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: 24 - filled)
        FileHandle.standardError.write(Data(String(format: "\r[%@] %d/%d  loss %.4f  %.2f steps/s  ETA %@", bar, step, total, loss,
                                                   stepsPerSecond, TrainingLog.duration(eta)).utf8))
    }

    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
