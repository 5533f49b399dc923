// The folder of a training run and its policy: a folder that already holds a run is continued only
// with `resume` (and `resume` needs one); a new run starts only in a new or empty folder or one Magvit
// wrote (the folder rule, OutputFiles); nothing is created until the trainer has been built from a
// valid config; a lock file (PID and host) keeps a second process out while the first is alive. The
// run's files are never followed through links: a link or folder under a run file's name is refused.
import Foundation
import Torch

public struct RunFolder: Sendable {
    public let url: URL

    public var checkpoint: URL { url.appendingPathComponent("checkpoint.safetensors") }
    public var log: URL { url.appendingPathComponent("log.jsonl") }
    public var config: URL { url.appendingPathComponent("config.json") }
    public var samples: URL { url.appendingPathComponent("samples") }
    var lock: URL { url.appendingPathComponent(".lock") }

    /// Checks the policy without touching the disk: `resume` needs a checkpoint, a fresh run needs none
    /// and a folder that is new, empty or Magvit's; no run file may be a link, folder or device.
    public init(_ url: URL, resume: Bool) throws {
        self.url = url
        try OutputFiles.checkParents(url.path)
        for file in [checkpoint, log, config, lock] { try OutputFiles.checkDestination(file.path) }
        // The samples folder too: one that is a link would take the run's images somewhere else.
        try OutputFiles.checkDestination(samples.path, folder: true)
        let exists = FileManager.default.fileExists(atPath: checkpoint.path)
        if exists && !resume {
            throw ConfigError("\(url.path) already holds a run; continue it with --resume or choose another output folder")
        }
        if resume && !exists { throw ConfigError("\(url.path): no checkpoint.safetensors to resume from") }
        // A run folder made before markers existed holds the lock file.
        if !resume { try OutputFiles.checkFolder(url.path, legacyMarks: [".lock"]) }
    }

    /// Creates the folder and takes its lock: refused while another live process on this host holds it;
    /// a lock left by a dead process is taken over.
    public func create() throws -> RunLock {
        // The marker before anything else: another rank checking the folder meanwhile sees it empty or marked.
        try OutputFiles.createFolder(url.path)
        do {
            try FileManager.default.createDirectory(at: samples, withIntermediateDirectories: true)
        } catch {
            throw ConfigError("\(samples.path): cannot create the folder (\(OutputFiles.reason(error)))")
        }
        return try RunLock(lock)
    }
}

/// An exclusive lock on a run folder, released when dropped.
public final class RunLock {
    let url: URL
    let descriptor: Int32

    init(_ url: URL) throws {
        self.url = url
        // Never through a link: the lock is truncated below, which would empty a linked file elsewhere.
        descriptor = try OutputFiles.openInPlace(url.path, flags: O_RDWR | O_CREAT, what: "lock file")
        // flock is released by the kernel when the holder dies, so a stale file never blocks a run.
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(descriptor)
            throw ConfigError("\(url.deletingLastPathComponent().path) is in use by another training process (\(holder)); wait for it or stop it")
        }
        let holder = "pid \(getpid()) on \(ProcessInfo.processInfo.hostName)\n"
        _ = ftruncate(descriptor, 0)
        _ = holder.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    deinit {
        _ = ftruncate(descriptor, 0)
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
