// Checks a rendezvous address before c10d sees it. c10d's TCPStore client retries an address that
// does not resolve or where nothing answers, logs a C++ backtrace at every try and gives up after
// about twice the timeout; here a host that does not resolve is one line at once, and a rank other
// than 0 waits for rank 0's store itself, so that nothing answering is one line within the timeout.
// What c10d still writes to standard error while joining loses its backtrace lines.
import Foundation
import Torch

enum Rendezvous {
    /// Resolves `host` and, for a rank other than 0, waits until rank 0's store accepts a
    /// connection at host:port, at most `timeout` seconds; throws a one-line error otherwise.
    static func check(host: String, port: Int, rank: Int, worldSize: Int, timeout: Double) throws {
        let who = "rank \(rank) of \(worldSize)"
        guard !host.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigError("\(who): the rendezvous host (MASTER_ADDR or --dist-url) is empty; it must name rank 0's host (a name or address every rank can resolve, such as 127.0.0.1 on one machine)")
        }
        let addresses = try resolve(host, port: port, who: who)
        guard rank != 0 else { return }  // rank 0 serves the store itself
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if addresses.contains(where: { accepts($0, until: deadline) }) { return }
            guard Date() < deadline else { break }
            usleep(100_000)
        }
        throw ConfigError("\(who): nothing answered at \(host):\(port) within \(String(format: "%g", timeout)) s; rank 0 serves the rendezvous there:"
            + " start it with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE (or raise run.collectiveTimeout)")
    }

    /// The socket addresses `host` resolves to for TCP.
    static func resolve(_ host: String, port: Int, who: String) throws -> [Data] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let code = getaddrinfo(host, String(port), &hints, &list)
        guard code == 0, let first = list else {
            let why = code == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(code))
            throw ConfigError("\(who): the rendezvous host '\(TerminalText.escaped(host))' (MASTER_ADDR or --dist-url) does not resolve (\(why));"
                + " it must be rank 0's host name or address, one every rank can resolve")
        }
        defer { freeaddrinfo(list) }
        var addresses: [Data] = []
        for entry in sequence(first: first, next: { $0.pointee.ai_next }) where entry.pointee.ai_addr != nil {
            addresses.append(Data(bytes: entry.pointee.ai_addr, count: Int(entry.pointee.ai_addrlen)))
        }
        return addresses
    }

    /// Whether a TCP connection to `address` is accepted before `deadline` (at most a second is spent).
    static func accepts(_ address: Data, until deadline: Date) -> Bool {
        let family = address.withUnsafeBytes { Int32(truncatingIfNeeded: $0.load(as: sockaddr.self).sa_family) }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let started = address.withUnsafeBytes { connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
        if started == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        let milliseconds = Int32(clamping: (try? Checked.int(clamping: deadline.timeIntervalSinceNow * 1000, to: 0...1000, "the wait")) ?? 0)
        var waiting = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&waiting, 1, milliseconds) == 1 else { return false }
        var failure: Int32 = 0, size = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &size) == 0 && failure == 0
    }

    /// Runs `body` with standard error sent to a temporary file. When `body` succeeds, what it got
    /// there is written without C++ backtraces (`Exception raised from ...` and `frame #N: ...`
    /// lines); when it throws, its error is the one line, and c10d's retry log is dropped.
    static func withoutBacktraces<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        fflush(nil)
        guard let file = tmpfile() else { return try body() }
        let saved = dup(STDERR_FILENO)
        guard saved >= 0, dup2(fileno(file), STDERR_FILENO) >= 0 else {
            if saved >= 0 { close(saved) }
            fclose(file)
            return try body()
        }
        var succeeded = false
        defer {
            fflush(nil)
            dup2(saved, STDERR_FILENO)
            close(saved)
            if succeeded { show(file) }
            fclose(file)
        }
        let result = try body()
        succeeded = true
        return result
    }

    /// Writes the text of `file` to standard error without C++ backtrace lines.
    static func show(_ file: UnsafeMutablePointer<FILE>) {
        var text = Data(), buffer = [UInt8](repeating: 0, count: 65536)
        rewind(file)
        while case let n = fread(&buffer, 1, buffer.count, file), n > 0 { text.append(contentsOf: buffer[0..<n]) }
        let kept = String(decoding: text, as: UTF8.self).split(separator: "\n")
            .filter { !$0.hasPrefix("frame #") && !$0.hasPrefix("Exception raised from ") }
        if !kept.isEmpty { FileHandle.standardError.write(Data((kept.joined(separator: "\n") + "\n").utf8)) }
    }
}
