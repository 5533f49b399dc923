// A table of named entries that any thread may read and extend: the registries of data sources,
// quantizers and priors (a kind's name to what makes it).
import Foundation

public final class Registry<Key: Hashable, Entry>: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [Key: Entry]

    public init(_ entries: [Key: Entry] = [:]) { self.entries = entries }

    /// Adds or replaces the entry of `key`.
    public func set(_ key: Key, _ entry: Entry) { lock.withLock { entries[key] = entry } }
    public func entry(_ key: Key) -> Entry? { lock.withLock { entries[key] } }
    /// Every entry, at one moment.
    public var all: [Key: Entry] { lock.withLock { entries } }
}
