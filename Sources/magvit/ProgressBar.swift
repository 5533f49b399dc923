// Progress on standard error: a bar redrawn in place on a terminal, a line every few seconds
// otherwise (logs, CI, nohup), so a long job is never silent.
import Codec
import Foundation
import Harness

final class ProgressLines {
    let label: String
    let every: Double
    let interactive = isatty(2) != 0
    private var last = Date()
    private var drawn = false

    init(label: String, every: Double = 30) {
        self.label = label
        self.every = every
    }

    /// `done` of `total` (nil: unknown) `unit`, with a detail and the seconds left.
    func update(done: Int, total: Int?, unit: String, detail: String, eta: Double?) {
        let left = eta.map { "  ETA \(RunLog.duration($0))" } ?? ""
        let detail = detail.isEmpty ? "" : "  " + detail
        if interactive {
            var counter = "\(done) \(unit)"
            if let total, total > 0 {
                let filled = Int(Swift.min(1, Double(done) / Double(total)) * 24)
                counter = "[\(String(repeating: "=", count: filled))\(String(repeating: " ", count: 24 - filled))] \(done)/\(total) \(unit)"
            }
            FileHandle.standardError.write(Data("\r\(label) \(counter)\(detail)\(left)\u{1B}[K".utf8))
            drawn = true
        } else if Date().timeIntervalSince(last) >= every {
            last = Date()
            let percent = total.map { $0 > 0 ? String(format: " (%.1f%%)", 100 * Double(done) / Double($0)) : "" } ?? ""
            FileHandle.standardError.write(Data("\(label): \(done)\(total.map { "/\($0)" } ?? "") \(unit)\(percent)\(detail)\(left)\n".utf8))
        }
    }

    func done() {
        if interactive, drawn { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Frames of a streaming job (encode, decode, reconstruct).
struct ProgressBar {
    let lines: ProgressLines

    init(label: String) { lines = ProgressLines(label: label) }

    /// Runs `job` with a bar labelled `label` as its progress, and ends the bar once it finished.
    static func showing<R>(_ label: String, _ job: (@escaping (JobProgress) -> Void) throws -> R) rethrows -> R {
        let bar = ProgressBar(label: label)
        let result = try job(bar.update)
        bar.done()
        return result
    }

    func update(_ p: JobProgress) {
        let eta = p.total.flatMap { total in p.framesPerSecond > 0 ? Double(total - p.frames) / p.framesPerSecond : nil }
        lines.update(done: p.frames, total: p.total, unit: "frames", detail: String(format: "%.1f frames/s", p.framesPerSecond), eta: eta)
    }

    func done() { lines.done() }
}
