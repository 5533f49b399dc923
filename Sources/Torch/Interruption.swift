// What an interrupted command says on its way out (Ctrl-C, SIGTERM, SIGHUP): one line on what was
// kept and how to go on, as torchrun and Lightning print where they saved. The signal handler of
// `OutputFiles.installSignalCleanup` writes it after its cleanup; a trainer keeps it current with its
// step and checkpoint. The line lives in fixed buffers, so the handler neither allocates nor locks.
import Foundation

public enum Interruption {
    /// The line said on a signal; nil says nothing. Set it again whenever it changes.
    public static var message: String? {
        get { buffers.read() }
        set { buffers.write(newValue) }
    }

    /// Writes the current line to standard error: only `write(2)`, for the signal handler.
    static func say() {
        let line = buffers.active
        _ = Glibc.write(2, line, strlen(line))
    }

    static let buffers = Buffers()

    /// Two buffers: a new line is written into the one the handler does not read, then `current`
    /// switches to it, so a signal never finds a half-written line.
    final class Buffers: @unchecked Sendable {
        static let bytes = 1024
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: 2 * bytes)
        let current = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        let lock = NSLock()

        init() {
            storage.initialize(repeating: 0, count: 2 * Self.bytes)
            current.initialize(to: 0)
        }

        var active: UnsafeMutablePointer<CChar> { storage + Int(current.pointee) * Self.bytes }

        func read() -> String? {
            lock.withLock {
                let text = String(cString: active).trimmingCharacters(in: .newlines)
                return text.isEmpty ? nil : text
            }
        }

        func write(_ text: String?) {
            lock.withLock {
                let next = 1 - current.pointee
                let buffer = storage + Int(next) * Self.bytes
                // On a terminal the line starts afresh: a progress bar may be drawn in place.
                let line = text.map { (isatty(2) != 0 ? "\n" : "") + $0 + "\n" } ?? ""
                let utf8 = Array(line.utf8.prefix(Self.bytes - 1))
                for (i, byte) in utf8.enumerated() { buffer[i] = CChar(bitPattern: byte) }
                buffer[utf8.count] = 0
                current.pointee = next
            }
        }
    }
}
