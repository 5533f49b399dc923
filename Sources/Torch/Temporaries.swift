// Temporary names and child processes (ffmpeg), registered so that SIGINT, SIGTERM and SIGHUP, once
// `installSignalCleanup` ran, remove every temporary, stop every child and exit with 128 + the signal
// (the output policy of OutputFiles.swift: a result is written under a temporary name and renamed
// into place when complete).
import Foundation

extension OutputFiles {
    /// A temporary name beside `path` (`.NAME.partial-PID` + `suffix`), registered for removal on a
    /// signal until `release`. Temporaries for the same destination left by dead processes (a SIGKILL)
    /// are swept first.
    public static func temporary(for path: String, suffix: String = "") -> String {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path, prefix = "." + temporaryStem(url.lastPathComponent) + ".partial-"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where entry.hasPrefix(prefix) {
            guard let pid = Int32(entry.dropFirst(prefix.count).prefix(while: \.isNumber)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: folder + "/" + entry)
        }
        let name = folder + "/" + prefix + "\(getpid())\(suffix)"
        registry.add(path: name)
        return name
    }

    /// The destination's name as it appears in its temporary's: the name itself, or, when the
    /// temporary's name would pass the 255 bytes a name may have (`.`, `.partial-`, a PID of up to 10
    /// digits and a suffix of up to 6 bytes add 27), its first bytes and a hash of the whole name, so
    /// every valid name can be written and each destination keeps its own temporaries.
    static func temporaryStem(_ name: String) -> String {
        let room = 255 - 27
        guard name.utf8.count > room else { return name }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a: the same in every process, unlike Hasher
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let tag = "~" + String(hash, radix: 16)
        var stem = "", bytes = 0
        for scalar in name.unicodeScalars {  // whole characters only
            let n = String(scalar).utf8.count
            guard bytes + n + tag.utf8.count <= room else { break }
            stem.unicodeScalars.append(scalar)
            bytes += n
        }
        return stem + tag
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
