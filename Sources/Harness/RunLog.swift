// The record of a run: a JSON-lines file (one object per log window or evaluation, snake_case keys,
// appended and flushed as it happens), TensorBoard event files beside it (the same scalars, and the
// sample grids as images), and lines for the reader with a progress display: a redrawn bar on a
// terminal, a plain line every few seconds otherwise.
import Foundation
import Torch

public final class RunLog {
    public let url: URL?
    private let handle: FileHandle?
    private let events: TensorBoardWriter?
    private let interactive: Bool
    /// Where human-readable lines go (standard output by default).
    private let echo: (String) -> Void
    /// Seconds between plain progress lines when standard error is not a terminal (0: none).
    private let progressEvery: Double
    private var lastProgress = Date()

    /// Opens `url` for appending; `keepingThrough` (on resume) first drops records after that step,
    /// so the file reads as one uninterrupted run. With `tensorBoard`, a new event file is started
    /// in the same folder (TensorBoard merges the files of a folder; steps after a resume point win).
    public init(url: URL, keepingThrough step: Int?, tensorBoard: Bool = true, progressEvery: Double = 30,
                echo: @escaping (String) -> Void) throws {
        self.url = url
        self.echo = echo
        self.progressEvery = progressEvery
        interactive = isatty(2) != 0
        // Checked before it is read or written: a link is not followed (its target would be appended to).
        try OutputFiles.checkDestination(url.path)
        if let step, let text = try? String(contentsOf: url, encoding: .utf8) {
            let kept = text.split(separator: "\n").filter { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let s = object["step"] as? Int else { return false }
                return s <= step
            }
            try OutputFiles.write(Data(kept.map { $0 + "\n" }.joined().utf8), to: url)
        }
        // A new run starts an empty log; a resumed one appends.
        let flags = O_WRONLY | O_CREAT | O_APPEND | (step == nil ? O_TRUNC : 0)
        handle = FileHandle(fileDescriptor: try OutputFiles.openInPlace(url.path, flags: flags, what: "log"), closeOnDealloc: true)
        events = tensorBoard ? try TensorBoardWriter(directory: url.deletingLastPathComponent()) : nil
    }

    /// A log that writes and says nothing: the ranks of a data-parallel run other than rank 0.
    public init(silent: Void = ()) {
        url = nil
        handle = nil
        events = nil
        echo = { _ in }
        progressEvery = 0
        interactive = false
    }

    deinit { try? handle?.close() }

    /// Appends one record (keys sorted, numbers at full precision) and its numbers to TensorBoard,
    /// tagged `group/key` (group: "train", or the record's "kind").
    public func record(_ values: [String: Any], step: Int) throws {
        var values = values
        values["step"] = step
        // JSON has no NaN or infinity: a training loss that is not finite stops the run here with a message
        // (not Foundation's words); any other value that is not finite is left out of the record.
        if values["kind"] == nil, let loss = values["loss"] as? Double, !loss.isFinite {
            throw ConfigError("training diverged: the loss is \(loss) at step \(step); resume from the last checkpoint with a lower optimizer.learningRate, or check the data")
        }
        values = values.filter { ($0.value as? Double)?.isFinite ?? true }
        let data = try JSONSerialization.data(withJSONObject: values, options: [.sortedKeys])
        guard let handle else { return }
        try handle.write(contentsOf: data + Data("\n".utf8))
        let group = values["kind"] as? String ?? "train"
        var scalars: [String: Double] = [:]
        for (key, value) in values where key != "step" {
            if let number = value as? Double { scalars[group + "/" + key] = number } else if let number = value as? Int { scalars[group + "/" + key] = Double(number) }
        }
        try events?.scalars(scalars, step: step)
    }

    /// An image (H, W, 3) in [0, 1] for TensorBoard's image panel.
    public func image(_ tag: String, _ image: Tensor, png: Data, step: Int) throws {
        try events?.image(tag, png: png, width: image.size(1), height: image.size(0), step: step)
    }

    /// A line for the reader (and the end of any progress bar on the terminal).
    public func say(_ line: String) {
        guard handle != nil else { return }
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        echo(line)
    }

    /// Progress: a redrawn one-line bar on a terminal; otherwise a plain line on standard error every
    /// `progressEvery` seconds, so logs of jobs without a terminal show that the run moves. `timeLeft`:
    /// the seconds a time budget leaves, which bound the ETA (a budgeted run's step count is a ceiling
    /// until the budget fits it).
    public func progress(step: Int, of total: Int, stepsPerSecond: Double, loss: Double?, timeLeft: Double? = nil) {
        guard handle != nil else { return }
        let eta = RunLog.eta(step: step, of: total, stepsPerSecond: stepsPerSecond, timeLeft: timeLeft)
        let lossText = loss.map { String(format: "  loss %.4f", $0) } ?? ""
        if interactive {
            let filled = Int(Double(step) / Double(Swift.max(total, 1)) * 24)
            let bar = String(repeating: "=", count: Swift.min(filled, 24)) + String(repeating: " ", count: Swift.max(0, 24 - filled))
            FileHandle.standardError.write(Data(String(format: "\r[%@] %d/%d%@  %.2f steps/s  ETA %@", bar, step, total, lossText,
                                                       stepsPerSecond, RunLog.duration(eta)).utf8))
        } else if progressEvery > 0, Date().timeIntervalSince(lastProgress) >= progressEvery {
            lastProgress = Date()
            FileHandle.standardError.write(Data(String(format: "progress: %d/%d (%.1f%%)%@  %.2f steps/s  ETA %@\n", step, total,
                                                       100 * Double(step) / Double(Swift.max(total, 1)), lossText, stepsPerSecond,
                                                       RunLog.duration(eta)).utf8))
        }
    }

    /// Seconds to the end at `stepsPerSecond` (0 before any pace is known), at most `timeLeft`.
    public static func eta(step: Int, of total: Int, stepsPerSecond: Double, timeLeft: Double? = nil) -> Double {
        let pace = stepsPerSecond > 0 ? Double(total - step) / stepsPerSecond : 0
        return timeLeft.map { Swift.min(pace, Swift.max(0, $0)) } ?? pace
    }

    public static func duration(_ seconds: Double) -> String {
        guard let s = try? Checked.int(clamping: seconds.rounded(), to: Int.min...Int.max, "seconds"), seconds.isFinite else { return "?" }
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
