// Config files (JSON or YAML) read as overrides of a complete default: every key a file names must
// exist in the default, so a misspelt key is an error instead of a silently ignored setting.
import Foundation
import NN
import Torch
import Yams

/// What is wrong with a config file.
public struct ConfigError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// Fails with `message` unless `ok`: the one check every config's `validate` is written in.
    public static func require(_ ok: Bool, _ message: String) throws {
        if !ok { throw ConfigError(message) }
    }

    /// Refuses the first setting a file gives that this run would not read: each `key` set to other
    /// than its default where `given`, with what reads it (`readBy`: "for frame prediction", "with
    /// classifier.input features").
    public static func refuseUnread(_ settings: [(given: Bool, key: String, readBy: String)]) throws {
        for setting in settings where setting.given {
            throw ConfigError("\(setting.key) is read only \(setting.readBy); this run would ignore it")
        }
    }
}

public enum ConfigFile {
    /// A value as JSON with sorted keys (pretty-printed for files people read): the form configs are
    /// saved and compared in.
    public static func json<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The text of a config file, or an error naming it.
    public static func text(of url: URL) throws -> String {
        do { return try String(contentsOf: url, encoding: .utf8) } catch {
            throw ConfigError("\(url.path): cannot read the config file (\(error.localizedDescription))")
        }
    }

    /// Parses JSON (`.json`) or YAML (anything else; JSON is YAML too) into a dictionary.
    public static func parse(_ text: String, name: String) throws -> [String: Any] {
        try checkBounds(text, name: name)
        let value: Any?
        if name.hasSuffix(".json") {
            do { value = try JSONSerialization.jsonObject(with: Data(text.utf8)) } catch {
                throw ConfigError("\(name): not valid JSON (\(error.localizedDescription))")
            }
        } else {
            do { value = try Yams.load(yaml: text) } catch { throw ConfigError("\(name): not valid YAML (\(error))") }
        }
        if value == nil || value is NSNull { throw ConfigError("\(name): the file is empty; a config needs at least the sections it changes") }
        guard let dictionary = value as? [String: Any] else { throw ConfigError("\(name): expected a mapping of sections at the top") }
        return dictionary
    }

    /// Limits checked before a parser sees the text: its size, its nesting depth (a deeply nested
    /// document would exhaust the parser's stack) and YAML anchors and aliases (which can expand a few
    /// bytes into gigabytes, and which no config needs).
    static let maxBytes = 1 << 20, maxDepth = 64

    static func checkBounds(_ text: String, name: String) throws {
        guard text.utf8.count <= maxBytes else { throw ConfigError("\(name): \(text.utf8.count) bytes; a config file may have at most \(maxBytes)") }
        var depth = 0, deepest = 0, quote: UInt8? = nil, comment = false
        var indentLevels = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let indent = line.prefix { $0 == " " || $0 == "-" }.count
            indentLevels = Swift.max(indentLevels, indent / 2)
        }
        let bytes = Array(text.utf8)
        let separators: Set<UInt8> = [32, 9, 10, 13, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "-")]
        for (i, byte) in bytes.enumerated() {
            let previous: UInt8 = i > 0 ? bytes[i - 1] : 10
            if comment {
                if byte == 10 { comment = false }
            } else if let q = quote {
                if byte == q { quote = nil }
            } else {
                switch byte {
                case UInt8(ascii: "#") where separators.contains(previous): comment = true
                case UInt8(ascii: "\""), UInt8(ascii: "'"): quote = byte
                case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1; deepest = Swift.max(deepest, depth)
                case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
                case let marker where (marker == UInt8(ascii: "&") || marker == UInt8(ascii: "*")) && separators.contains(previous) && i + 1 < bytes.count
                    && (bytes[i + 1] == UInt8(ascii: "_") || Character(UnicodeScalar(bytes[i + 1])).isLetter || Character(UnicodeScalar(bytes[i + 1])).isNumber):
                    if !name.hasSuffix(".json") { throw ConfigError("\(name): YAML anchors and aliases (&name, *name) are not allowed in config files") }
                default: break
                }
            }
        }
        guard deepest <= maxDepth, indentLevels <= maxDepth else {
            throw ConfigError("\(name): nested more than \(maxDepth) levels deep")
        }
    }

    /// `defaults` with every value of `overrides` put in its place, recursively. A key missing from
    /// the defaults, or a mapping given where a value is expected (or the reverse), is an error; an
    /// unknown key's message names `owner` (a recipe) when given.
    public static func merge(_ overrides: [String: Any], into defaults: [String: Any], path: String = "", owner: String = "") throws -> [String: Any] {
        var merged = defaults
        for (key, value) in overrides {
            let here = path.isEmpty ? key : path + "." + key
            guard let current = defaults[key] else {
                let of = owner.isEmpty ? "" : " of the \(owner) recipe"
                throw ConfigError("unknown setting '\(here)'\(of); settings here: \(defaults.keys.sorted().joined(separator: ", "))")
            }
            switch (current, value) {
            case let (inner as [String: Any], given as [String: Any]): merged[key] = try merge(given, into: inner, path: here, owner: owner)
            case (is [String: Any], _): throw ConfigError("'\(here)' is a section and needs a mapping, got \(value)")
            case (_, is [String: Any]): throw ConfigError("'\(here)' is a value, got a mapping")
            default: merged[key] = try coerce(value, like: current, at: here)
            }
        }
        return merged
    }

    /// YAML may read a number such as `1e-3` as a string: where the default is not a string, a
    /// numeric string becomes the number.
    static func coerce(_ value: Any, like current: Any, at path: String) throws -> Any {
        if let text = value as? String, !(current is String), let number = Double(text) { return number }
        return value
    }

    /// The first setting given a fraction whose default is a whole number: the likely reason a decode
    /// failed without a key (Foundation's decoder only says the data is not valid JSON). A default of
    /// a Double setting can also look whole (0.0 is written 0), so this only explains a failure.
    static func fractionWhereWhole(_ overrides: [String: Any], _ defaults: [String: Any], path: String = "") -> String? {
        let integerTypes: Set<String> = ["q", "l", "i", "s", "Q", "L", "I", "S"]
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
            let here = path.isEmpty ? key : path + "." + key
            if let inner = value as? [String: Any], let base = defaults[key] as? [String: Any] {
                if let found = fractionWhereWhole(inner, base, path: here) { return found }
            } else if let number = defaults[key] as? NSNumber, integerTypes.contains(String(cString: number.objCType)), !(value is Bool),
                let given = (value as? Double) ?? (value as? String).flatMap(Double.init), given.rounded() != given {
                return "'\(here)' must be a whole number, got \(given)"
            }
        }
        return nil
    }

    /// How a setting's type is named in messages.
    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type, is UInt64.Type, is Int32.Type, is UInt.Type: "a whole number"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type: "text"
        default: String(describing: type).hasPrefix("Array") ? "a list" : "a \(type)"
        }
    }

    /// Decodes `T` from `overrides` laid over `defaults`'s encoding; decoding errors name the key, and
    /// an unknown key's error `owner` (a recipe) when given.
    public static func decode<T: Codable>(_ type: T.Type, overrides: [String: Any], defaults: T, owner: String = "") throws -> T {
        let encoder = JSONEncoder()
        encoder.userInfo[.everySetting] = true
        let base = try JSONSerialization.jsonObject(with: encoder.encode(defaults)) as? [String: Any] ?? [:]
        let merged = try merge(overrides, into: base, owner: owner)
        guard JSONSerialization.isValidJSONObject(merged), let json = try? JSONSerialization.data(withJSONObject: merged) else {
            throw ConfigError("settings must be finite numbers, strings, booleans, lists or mappings (NaN and infinity are not allowed)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: json)
        } catch let DecodingError.typeMismatch(expected, context), let DecodingError.valueNotFound(expected, context) {
            throw ConfigError("'\(context.codingPath.map(\.stringValue).joined(separator: "."))' must be \(describe(expected))")
        } catch let DecodingError.dataCorrupted(context) {
            if context.codingPath.isEmpty, let message = fractionWhereWhole(overrides, base) { throw ConfigError(message) }
            throw ConfigError("'\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
        }
    }

    /// The value at a dotted key path of a parsed config (nil when the file does not give it).
    public static func value(at path: String, in tree: [String: Any]) -> Any? {
        var node: Any? = tree
        for key in path.split(separator: ".") { node = (node as? [String: Any])?[String(key)] }
        return node
    }

    /// Whether a value a file gives differs from the default it is laid over (a default given, as in
    /// a run's config.json, changes nothing); values that cannot be compared differ.
    public static func differs(_ given: Any, from standard: Any?) -> Bool {
        guard let standard, JSONSerialization.isValidJSONObject([given]), JSONSerialization.isValidJSONObject([standard]),
              let a = try? JSONSerialization.data(withJSONObject: [given], options: .sortedKeys),
              let b = try? JSONSerialization.data(withJSONObject: [standard], options: .sortedKeys),
              let x = try? JSONSerialization.jsonObject(with: a) as? NSArray, let y = try? JSONSerialization.jsonObject(with: b) as? NSArray
        else { return true }
        return !x.isEqual(y)
    }

    /// A parsed config without the setting at a dotted key path (as it is when it has none).
    public static func removing(_ path: String, from tree: [String: Any]) -> [String: Any] {
        let keys = path.split(separator: ".").map(String.init)
        guard let first = keys.first else { return tree }
        var result = tree
        if keys.count == 1 {
            result.removeValue(forKey: first)
        } else if let inner = tree[first] as? [String: Any] {
            result[first] = removing(keys.dropFirst().joined(separator: "."), from: inner)
        }
        return result
    }

    /// `key.path=value` command-line overrides as a nested mapping (values parsed as YAML scalars).
    public static func assignments(_ items: [String]) throws -> [String: Any] {
        var result: [String: Any] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ConfigError("expected key.path=value, got '\(item)'")
            }
            let keys = item[..<eq].split(separator: ".").map(String.init)
            let text = String(item[item.index(after: eq)...])
            let value: Any = (try? Yams.load(yaml: text)).flatMap { $0 } ?? text
            result = insert(value, at: keys, into: result)
        }
        return result
    }

    private static func insert(_ value: Any, at keys: [String], into dictionary: [String: Any]) -> [String: Any] {
        var d = dictionary
        guard let first = keys.first else { return d }
        if keys.count == 1 { d[first] = value } else {
            d[first] = insert(value, at: Array(keys.dropFirst()), into: d[first] as? [String: Any] ?? [:])
        }
        return d
    }

    /// A config's overrides: the file's settings with `assignments` (key.path=value) over them. Read
    /// from a file (`folder` given), relative paths at `pathKeys` are resolved, the file's against its
    /// folder and the assignments' against the working directory; text alone is taken as it is.
    public static func overrides(_ text: String, name: String, assignments: [String], folder: URL?,
                                 pathKeys: [String], keeping words: Set<String> = []) throws -> [String: Any] {
        var file = try parse(text, name: name), given = try self.assignments(assignments)
        if let folder {
            file = resolvingPaths(file, at: pathKeys, keeping: words, relativeTo: folder)
            given = resolvingPaths(given, at: pathKeys, keeping: words, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        }
        return combine(file, given)
    }

    /// Resolves the paths of a parsed config (`ShippedResources.resolve`): relative ones against
    /// `base`, the config file's folder (or the working directory for `--set` values). `keys` are key
    /// paths such as `tokenizer`, `data.train` (a path or a list of them) or `data.sources[].train` (that
    /// key of every mapping in the list); values that are one of `words` (`none`) are settings, not paths.
    public static func resolvingPaths(_ tree: [String: Any], at keys: [String], keeping words: Set<String> = [], relativeTo base: URL) -> [String: Any] {
        let resolve = { (path: String) in words.contains(path) ? path : ShippedResources.resolve(path, relativeTo: base) }
        func apply(_ value: Any, _ parts: ArraySlice<Substring>) -> Any {
            guard let part = parts.first else {
                if let path = value as? String { return resolve(path) }
                if let list = value as? [Any] { return list.map { ($0 as? String).map(resolve) ?? $0 } }
                return value
            }
            let eachItem = part.hasSuffix("[]")
            let name = String(eachItem ? part.dropLast(2) : part)
            guard var mapping = value as? [String: Any], let inner = mapping[name] else { return value }
            if eachItem {
                guard let items = inner as? [Any] else { return value }
                mapping[name] = items.map { apply($0, parts.dropFirst()) }
            } else {
                mapping[name] = apply(inner, parts.dropFirst())
            }
            return mapping
        }
        var result: Any = tree
        for key in keys { result = apply(result, key.split(separator: ".")[...]) }
        return result as? [String: Any] ?? tree
    }

    /// Deep merge of two override mappings, the second winning.
    public static func combine(_ a: [String: Any], _ b: [String: Any]) -> [String: Any] {
        var result = a
        for (key, value) in b {
            if let inner = value as? [String: Any], let existing = result[key] as? [String: Any] {
                result[key] = combine(existing, inner)
            } else {
                result[key] = value
            }
        }
        return result
    }
}
