// A one-line progress bar on standard error: frames, frames/s and time left.
import Codec
import Foundation

struct ProgressBar {
    let label: String
    let interactive = isatty(2) != 0

    func update(_ p: JobProgress) {
        guard interactive else { return }
        var line = "\r\(label) \(p.frames)"
        if let total = p.total, total > 0 {
            let fraction = Swift.min(1, Double(p.frames) / Double(total))
            let filled = Int(fraction * 24)
            let eta = p.framesPerSecond > 0 ? Double(total - p.frames) / p.framesPerSecond : 0
            line = "\r\(label) [\(String(repeating: "=", count: filled))\(String(repeating: " ", count: 24 - filled))] \(p.frames)/\(total) frames"
                + String(format: "  %.1f frames/s  ETA %@", p.framesPerSecond, duration(eta))
        } else {
            line += String(format: " frames  %.1f frames/s", p.framesPerSecond)
        }
        FileHandle.standardError.write(Data(line.utf8))
    }

    func done() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
