// Running the ffmpeg and ffprobe programs. Media goes through them over pipes: any format ffmpeg
// reads, frames streamed, and a corrupt file can only make a child process fail, never this one.
import Foundation
import Torch

/// A media file that cannot be read or written, with what went wrong.
public struct MediaError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}

enum FFmpeg {
    /// The program's path: $MAGVIT_FFMPEG / $MAGVIT_FFPROBE, else the first on PATH.
    static func locate(_ name: String) throws -> String {
        let variable = "MAGVIT_" + name.uppercased()
        if let path = ProcessInfo.processInfo.environment[variable], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw MediaError(name, "not found on PATH; install ffmpeg (scripts/setup.sh does) or set \(variable)")
    }

    /// Runs a program to completion, returning its standard output; a non-zero exit is an error
    /// carrying the last lines of its standard error.
    static func run(_ program: String, _ arguments: [String], path: String) throws -> Data {
        let process = try Self.process(program, arguments)
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try start(process)
        // Read both pipes to the end before waiting, so a chatty child never blocks on a full pipe.
        let drain = PipeDrain(errors.fileHandleForReading)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = drain.wait()
        wait(process)
        guard process.terminationStatus == 0 else {
            throw MediaError(path, "\(program) failed: \(lastLines(errorData))")
        }
        return data
    }

    /// A child process of `program` that dies with this process (`ChildProcesses.dyingWithParent`:
    /// even SIGKILL of magvit ends its ffmpeg), registered with `OutputFiles` until `wait` (so
    /// SIGINT/SIGTERM/SIGHUP stop it).
    static func process(_ program: String, _ arguments: [String]) throws -> Process {
        ChildProcesses.dyingWithParent(try locate(program), arguments)
    }

    static func start(_ process: Process) throws {
        try process.run()
        OutputFiles.register(child: process.processIdentifier)
    }

    static func wait(_ process: Process) {
        process.waitUntilExit()
        OutputFiles.release(child: process.processIdentifier)
    }

    /// The last non-empty lines of a program's error output, for messages.
    static func lastLines(_ data: Data, count: Int = 2) -> String {
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        return lines.suffix(count).joined(separator: " / ")
    }
}

/// Reads a pipe to its end on a background thread (a child's standard error), so the child never
/// blocks on a full pipe; `wait()` returns everything it wrote.
final class PipeDrain: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    private var finished = false

    init(_ handle: FileHandle) {
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }
    }

    func wait() -> Data {
        if !finished {
            done.wait()
            finished = true
        }
        return data
    }
}
