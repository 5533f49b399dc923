// The output policy every writer follows (token files, videos, frame folders, checkpoints, samples,
// logs, shards): the result is written under a temporary name beside the destination and renamed into
// place when complete; the destination is replaced only when it is absent or a regular file (a
// symlink, device, FIFO, socket or folder is refused); missing parent folders are created. A folder
// output is written only into a new or empty folder or one that Magvit wrote (it holds
// `folderMarker`), never by deleting what someone else put there. An output that is one of the
// inputs is refused before any work. Files a run appends to in place (logs, locks) are opened without
// following links. Temporary names and child processes (ffmpeg) are registered in Temporaries.swift,
// so that a signal removes every temporary and stops every child.
import Foundation

/// A destination that cannot be written, with what was found there.
public struct OutputError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum OutputFiles {
    /// Refuses `path` when something other than a regular file (or, with `folder`, a folder) is there.
    /// Also refuses it when a folder it would be written under cannot exist (see `checkParents`).
    public static func checkDestination(_ path: String, folder: Bool = false) throws {
        var info = stat()
        if lstat(path, &info) == 0 {
            let kind = info.st_mode & S_IFMT
            guard kind == S_IFREG || (folder && kind == S_IFDIR) else {
                throw OutputError("\(path) is \(describe(kind)); refusing to replace it (write to a regular file's path, or remove it first)")
            }
        }
        try checkParents(path)
    }

    /// Refuses an output below something that is not a folder (`-o notes.txt/x.mp4`): the nearest
    /// existing name above it must be a folder (or a link to one), so its missing folders can be made.
    /// Checked before any work; creating them would otherwise fail late with Foundation's
    /// "NSCocoaErrorDomain error 512".
    public static func checkParents(_ path: String) throws {
        var above = parent(of: path)  // as the user spelled it
        while !above.isEmpty {
            var info = stat()
            if stat(above, &info) == 0 {
                let kind = info.st_mode & S_IFMT
                if kind == S_IFDIR {
                    guard access(above, W_OK) == 0 else { throw OutputError("cannot create \(path): cannot write in \(above) (\(String(cString: strerror(errno))))") }
                    return
                }
                throw OutputError("cannot create \(path): \(above) is \(kind == S_IFREG ? "a file" : describe(kind)), not a folder")
            }
            if errno != ENOENT && errno != ENOTDIR { return }  // (no permission, ...): the system's words come when writing
            if lstat(above, &info) == 0 {  // a link to nothing
                throw OutputError("cannot create \(path): \(above) is a symbolic link to something missing, not a folder")
            }
            let up = parent(of: above)
            if up == above { return }
            above = up
        }
    }

    /// The folder part of `path` as spelled, without trailing slashes: `a/b/c/` -> `a/b`, `x` -> ``,
    /// `/x` -> `/`, `/` -> `/`. (Foundation's `deletingLastPathComponent` traps on `-` and `./`.)
    static func parent(of path: String) -> String {
        var name = Substring(path)
        while name.count > 1, name.hasSuffix("/") { name.removeLast() }
        guard let slash = name.lastIndex(of: "/") else { return "" }
        var folder = name[..<slash]
        while folder.count > 1, folder.hasSuffix("/") { folder.removeLast() }
        return folder.isEmpty ? "/" : String(folder)
    }

    /// Creates the folders a file output `path` is written into, or says in one line why they cannot be.
    public static func createParents(of path: String) throws {
        try checkParents(path)
        try makeFolders(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// `mkdir -p` with the system's words for a failure (Foundation's would be "NSCocoaErrorDomain error 512").
    static func makeFolders(_ path: String) throws {
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { return }
        let above = parent(of: path)
        if !above.isEmpty, above != path { try makeFolders(above) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw OutputError("\(path): cannot create the folder (\(String(cString: strerror(errno))))")
        }
    }

    /// What a file of type `kind` (`st_mode & S_IFMT`) is, for messages.
    static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFREG: "a regular file"
        case S_IFLNK: "a symbolic link"
        case S_IFDIR: "a folder"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFIFO: "a FIFO"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }

    /// Refuses an output that is one of `inputs`: the same file or folder once links are followed
    /// (device and inode), so `reconstruct a.mp4 -o a.mp4` fails before any work rather than
    /// replacing its own input. An output that does not exist yet is never an input.
    public static func checkNotInput(_ output: String, inputs: [String]) throws {
        var out = stat()
        guard stat(output, &out) == 0 else { return }
        for input in inputs {
            var info = stat()
            if stat(input, &info) == 0, info.st_dev == out.st_dev, info.st_ino == out.st_ino {
                throw OutputError("\(output) is the input \(input); writing it would destroy what is being read: choose another output name")
            }
        }
    }

    /// Refuses an output name whose extension is not one of `extensions` (without dots; the first is
    /// the one suggested): `encode clip.mp4 -o x.mp4` would write a token file under a video's name.
    public static func checkExtension(_ path: String, _ extensions: [String], writes what: String) throws {
        let url = URL(fileURLWithPath: path)
        let ext = url.pathExtension.lowercased()
        guard !extensions.contains(ext) else { return }
        let suggestion = url.deletingPathExtension().lastPathComponent + "." + extensions[0]
        let found = ext.isEmpty ? "has no extension" : "ends in .\(ext)"
        throw OutputError("-o \(path) \(found), but this command writes \(what): name it .\(extensions.joined(separator: " or ."))"
            + " (for example \(suggestion))")
    }

    // MARK: Folder outputs

    /// The file that marks a folder as one Magvit wrote (a frame folder, a token dataset, a run
    /// folder, a folder of samples): only such a folder, or an empty one, is written into again.
    public static let folderMarker = ".magvit-output"

    /// Checks the folder rule without touching the disk: `path` is absent, an empty folder, or a
    /// folder Magvit wrote (it holds `folderMarker`, or one of `legacyMarks`: files Magvit wrote there
    /// before markers existed). With `replacing` (a folder about to be replaced as a whole), a marked
    /// folder must also hold only names that predicate accepts, so replacing it deletes nothing
    /// Magvit did not write.
    public static func checkFolder(_ path: String, legacyMarks: [String] = [], replacing owned: ((String) -> Bool)? = nil) throws {
        try checkParents(path)
        var info = stat()
        guard stat(path, &info) == 0 else { return }  // absent
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw OutputError("\(path) is \(describe(info.st_mode & S_IFMT)), not a folder; choose a new folder name for this output")
        }
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
            throw OutputError("\(path): cannot list the folder (\(reason(error)))")
        }
        let others = entries.filter { $0 != folderMarker }.sorted()
        if others.isEmpty { return }
        let marked = entries.contains(folderMarker) || entries.contains { legacyMarks.contains($0) }
        let foreign = owned.map { owns in others.filter { !owns($0) } } ?? []
        guard !marked || !foreign.isEmpty else { return }
        let shown = marked ? foreign : others
        let listed = shown.prefix(3).joined(separator: ", ") + (shown.count > 3 ? ", ..." : "")
        throw OutputError("\(path) already holds files Magvit did not write (\(listed)); an output folder must be new, empty or one"
            + " Magvit wrote, and nothing else is deleted: choose another folder or empty this one")
    }

    /// Creates a folder output (and missing parents) and marks it as Magvit's; call after `checkFolder`.
    public static func createFolder(_ path: String) throws {
        try checkParents(path)
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFDIR {
            throw OutputError("cannot create the folder \(path): it is \(describe(info.st_mode & S_IFMT))")
        }
        try makeFolders(path)
        try mark(folder: path)
    }

    /// Writes the marker into `folder`. Created in one step (an empty file, then its text), never
    /// through a temporary: another process checking the folder meanwhile sees it empty or marked.
    public static func mark(folder: String) throws {
        let marker = folder + "/" + folderMarker
        let fd = open(marker, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o644)
        guard fd >= 0 else { throw OutputError("\(marker): cannot mark the folder as Magvit's output (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        let text = "This folder was written by magvit; magvit writes into it again, and into no other non-empty folder.\n"
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    // MARK: Files written in place

    /// Opens a file a run writes in place (a log appended to, a lock), never through a link: a
    /// symbolic link, folder, FIFO or device there is refused with what it is, so a planted link
    /// cannot make a run truncate or append to a file elsewhere. Returns the descriptor.
    public static func openInPlace(_ path: String, flags: Int32, what: String) throws -> Int32 {
        // O_NONBLOCK: opening a FIFO must not wait for a reader; it is refused below.
        let fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o644)
        guard fd >= 0 else {
            let code = errno
            var info = stat()
            let kind = lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
            if code == ELOOP || code == EISDIR || kind == S_IFLNK || kind == S_IFDIR {
                throw OutputError("\(path) is \(describe(kind)), not the run's \(what); remove it (links are not followed)")
            }
            throw OutputError("\(path): cannot open the \(what) (\(String(cString: strerror(code))))")
        }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw OutputError("\(path) is \(describe(info.st_mode & S_IFMT)), not the run's \(what); remove it")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    /// Writes `data` under a temporary name beside `url` and renames it into place (see the policy).
    public static func write(_ data: Data, to url: URL) throws {
        try checkDestination(url.path)
        try createParents(of: url.path)
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
    /// Foundation on Linux often keeps only its own code (`NSCocoaErrorDomain error 256` for reading a
    /// folder): then the file at `path` (or the error's) says what it is, or the code is mapped to errno's.
    public static func reason(_ error: Error, at path: String? = nil) -> String {
        let e = error as NSError
        if let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(truncatingIfNeeded: underlying.code)))
        }
        if e.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(truncatingIfNeeded: e.code))) }
        var info = stat()
        if let file = path ?? e.userInfo[NSFilePathErrorKey] as? String, stat(file, &info) == 0, info.st_mode & S_IFMT == S_IFDIR {
            return String(cString: strerror(EISDIR))
        }
        let codes: [Int: Int32] = [4: ENOENT, 260: ENOENT, 257: EACCES, 513: EACCES, 514: ENAMETOOLONG, 516: EEXIST, 640: ENOSPC, 642: EROFS]
        if e.domain == NSCocoaErrorDomain, let code = codes[e.code] { return String(cString: strerror(code)) }
        return e.localizedDescription
    }
}
