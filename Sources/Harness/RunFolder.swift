// The folder of a training run and its policy: a folder that already holds a run is continued only
// with `resume` (and `resume` needs one); nothing is created until the trainer has been built from a
// valid config; a lock file (PID and host) keeps a second process out while the first is alive.
import Foundation

public struct RunFolder: Sendable {
    public let url: URL

    public var checkpoint: URL { url.appendingPathComponent("checkpoint.safetensors") }
    public var log: URL { url.appendingPathComponent("log.jsonl") }
    public var config: URL { url.appendingPathComponent("config.json") }
    public var samples: URL { url.appendingPathComponent("samples") }
    var lock: URL { url.appendingPathComponent(".lock") }

    /// Checks the policy without touching the disk: `resume` needs a checkpoint, a fresh run needs none.
    public init(_ url: URL, resume: Bool) throws {
        self.url = url
        let exists = FileManager.default.fileExists(atPath: url.appendingPathComponent("checkpoint.safetensors").path)
        if exists && !resume {
            throw ConfigError("\(url.path) already holds a run; continue it with --resume or choose another output folder")
        }
        if resume && !exists { throw ConfigError("\(url.path): no checkpoint.safetensors to resume from") }
    }

    /// Creates the folder and takes its lock: refused while another live process on this host holds it;
    /// a lock left by a dead process is taken over.
    public func create() throws -> RunLock {
        do {
            try FileManager.default.createDirectory(at: samples, withIntermediateDirectories: true)
        } catch {
            throw ConfigError("\(url.path): cannot create the run folder (\(error.localizedDescription))")
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
        descriptor = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ConfigError("\(url.path): cannot open the lock file (\(String(cString: strerror(errno))))") }
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
