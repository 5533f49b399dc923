// The output policy every writer follows (token files, videos, frame folders, checkpoints, samples,
// logs, shards): the result is written under a temporary name beside the destination and renamed into
// place when complete; the destination is replaced only when it is absent or a regular file (a
// symlink, device, FIFO, socket or folder is refused); missing parent folders are created. Temporary
// names and child processes (ffmpeg) are registered here, so that SIGINT, SIGTERM and SIGHUP, once
// `installSignalCleanup` ran, remove every temporary, stop every child and exit with 128 + the signal.
import Foundation

/// A destination that cannot be written, with what was found there.
public struct OutputError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum OutputFiles {
    /// Refuses `path` when something other than a regular file (or, with `folder`, a folder) is there.
    public static func checkDestination(_ path: String, folder: Bool = false) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // absent
        let kind = info.st_mode & S_IFMT
        if kind == S_IFREG || (folder && kind == S_IFDIR) { return }
        let what = switch kind {
        case S_IFLNK: "a symbolic link"
        case S_IFDIR: "a folder"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
        throw OutputError("\(path) is \(what); refusing to replace it (write to a regular file's path, or remove it first)")
    }

    /// A temporary name beside `path` (`.NAME.partial-PID` + `suffix`), registered for removal on a
    /// signal until `release`. Temporaries for the same destination left by dead processes (a SIGKILL)
    /// are swept first.
    public static func temporary(for path: String, suffix: String = "") -> String {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path, prefix = ".\(url.lastPathComponent).partial-"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where entry.hasPrefix(prefix) {
            guard let pid = Int32(entry.dropFirst(prefix.count).prefix(while: \.isNumber)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: folder + "/" + entry)
        }
        let name = folder + "/" + prefix + "\(getpid())\(suffix)"
        registry.add(path: name)
        return name
    }

    /// The temporary is renamed into place or removed: no longer the signal handler's to remove.
    public static func release(_ temporary: String) { registry.remove(path: temporary) }

    /// A child process to stop on a signal.
    public static func register(child pid: Int32) { registry.add(child: pid) }
    public static func release(child pid: Int32) { registry.remove(child: pid) }

    /// Installs handlers for SIGINT, SIGTERM and SIGHUP that kill the registered children, remove the
    /// registered temporaries (files, and folders of files) and exit with 128 + the signal.
    public static func installSignalCleanup() {
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = cleanupAndExit
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }

    /// Writes `data` under a temporary name beside `url` and renames it into place (see the policy).
    public static func write(_ data: Data, to url: URL) throws {
        try checkDestination(url.path)
        let directory = url.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw OutputError("\(directory.path): cannot create the folder (\(reason(error)))")
        }
        let temporary = Self.temporary(for: url.path)
        defer { release(temporary) }
        // POSIX calls rather than Data.write, so a failure reports errno's words ("No space left on device").
        let failure: String? = data.withUnsafeBytes { bytes -> String? in
            let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { return String(cString: strerror(errno)) }
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    let message = String(cString: strerror(errno))
                    close(fd)
                    return message
                }
                offset += n
            }
            return close(fd) == 0 ? nil : String(cString: strerror(errno))
        }
        if let failure {
            unlink(temporary)
            throw OutputError("\(url.path): cannot write (\(failure))")
        }
        guard rename(temporary, url.path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw OutputError("\(url.path): cannot move the finished file into place (\(message))")
        }
    }

    /// The system's words for a Foundation error (for example "No space left on device"), not its dump.
    public static func reason(_ error: Error) -> String {
        let e = error as NSError
        if let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if e.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(e.code))) }
        return e.localizedDescription
    }

    static let registry = Registry()

    /// Fixed tables of C strings and PIDs the signal handler reads without allocating.
    final class Registry: @unchecked Sendable {
        static let pathSlots = 256, childSlots = 64
        let paths = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: pathSlots)
        let children = UnsafeMutablePointer<Int32>.allocate(capacity: childSlots)
        let lock = NSLock()

        init() {
            paths.initialize(repeating: nil, count: Self.pathSlots)
            children.initialize(repeating: 0, count: Self.childSlots)
        }

        func add(path: String) {
            lock.withLock {
                for i in 0..<Self.pathSlots where paths[i] == nil {
                    paths[i] = strdup(path)
                    return
                }
            }
        }

        func remove(path: String) {
            lock.withLock {
                for i in 0..<Self.pathSlots where paths[i].map({ String(cString: $0) == path }) == true {
                    let p = paths[i]
                    paths[i] = nil
                    free(p)
                    return
                }
            }
        }

        func add(child pid: Int32) {
            lock.withLock {
                for i in 0..<Self.childSlots where children[i] == 0 {
                    children[i] = pid
                    return
                }
            }
        }

        func remove(child pid: Int32) {
            lock.withLock {
                for i in 0..<Self.childSlots where children[i] == pid { children[i] = 0 }
            }
        }
    }
}

/// The handler: only system calls, no allocation, no locks.
private let cleanupAndExit: @convention(c) (Int32) -> Void = { signal in
    let r = OutputFiles.registry
    for i in 0..<OutputFiles.Registry.childSlots where r.children[i] > 0 {
        kill(r.children[i], SIGKILL)
        var status: Int32 = 0
        waitpid(r.children[i], &status, 0)
    }
    for i in 0..<OutputFiles.Registry.pathSlots {
        guard let path = r.paths[i] else { continue }
        if unlink(path) != 0, let folder = opendir(path) {  // a folder of frames
            while let entry = readdir(folder) {
                var name = entry.pointee.d_name
                let length = withUnsafeBytes(of: &name) { $0.firstIndex(of: 0) ?? $0.count }
                guard !(length == 1 && name.0 == 46) && !(length == 2 && name.0 == 46 && name.1 == 46) else { continue }  // . and ..
                _ = withUnsafeBytes(of: &name) { bytes in
                    unlinkat(dirfd(folder), bytes.baseAddress!.assumingMemoryBound(to: CChar.self), 0)
                }
            }
            closedir(folder)
            rmdir(path)
        }
    }
    Interruption.say()
    _exit(128 + signal)
}
