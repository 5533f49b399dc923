// Every setting of a recipe's config, changed one at a time from a tiny base config: the change is
// refused as a setting the run would not read, or a short run with it does something else than the
// base run (its log, weights, optimizer state, samples or files differ). What a run leaves behind is
// compared without the config it records and without times.
import Foundation
import Harness
import NN
import XCTest

/// One part of a setting's path: a key of a mapping, or an element of a list of mappings.
enum PathPart: CustomStringConvertible {
    case key(String)
    case element(Int)

    var description: String {
        switch self {
        case .key(let key): key
        case .element(let i): "[\(i)]"
        }
    }
}

/// A setting by its path (`data.sources[0].weight` is `data`, `sources`, `[0]`, `weight`).
struct SettingPath: CustomStringConvertible, Hashable {
    let parts: [PathPart]

    var description: String {
        parts.enumerated().map { i, part in
            if case .key(let key) = part, i > 0 { return "." + key }
            return "\(part)"
        }.joined()
    }

    /// The path without list indices (`data.sources[].weight`), by which alternatives are looked up.
    var pattern: String { description.replacingOccurrences(of: #"\[\d+\]"#, with: "[]", options: .regularExpression) }
    var last: String { parts.compactMap { if case .key(let k) = $0 { k } else { nil } }.last ?? "" }

    static func == (a: SettingPath, b: SettingPath) -> Bool { a.description == b.description }
    func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

/// Every leaf of a config's encoding (every registered section included): scalars and lists of
/// scalars are settings; lists of mappings are entered element by element.
func settings(of tree: [String: Any], under prefix: [PathPart] = []) -> [(SettingPath, Any)] {
    var found: [(SettingPath, Any)] = []
    for (key, value) in tree.sorted(by: { $0.key < $1.key }) {
        let here = prefix + [.key(key)]
        if let inner = value as? [String: Any] {
            found += settings(of: inner, under: here)
        } else if let list = value as? [[String: Any]], !list.isEmpty {
            for (i, item) in list.enumerated() { found += settings(of: item, under: here + [.element(i)]) }
        } else {
            found.append((SettingPath(parts: here), value))
        }
    }
    return found
}

/// `tree` (a config file's settings) with `value` at `path`; an element of a list is changed in
/// the file's own list.
func setting(_ value: Any, at path: ArraySlice<PathPart>, in tree: [String: Any]) -> [String: Any] {
    guard case .key(let key)? = path.first else { return tree }
    var result = tree
    let rest = path.dropFirst()
    if rest.isEmpty {
        result[key] = value
    } else if case .element(let i)? = rest.first, var list = tree[key] as? [[String: Any]], i < list.count {
        list[i] = setting(value, at: [PathPart.key("_")] + rest.dropFirst(), in: ["_": list[i]])["_"] as? [String: Any] ?? list[i]
        result[key] = list
    } else {
        result[key] = setting(value, at: rest, in: tree[key] as? [String: Any] ?? [:])
    }
    return result
}

/// Values to try in place of `value`, most likely to be accepted first.
func alternatives(to value: Any) -> [Any] {
    func distinct<T: Equatable>(_ candidates: [T], from value: T) -> [T] {
        candidates.reduce(into: [T]()) { if $1 != value && !$0.contains($1) { $0.append($1) } }
    }
    if let number = value as? NSNumber {
        switch String(cString: number.objCType) {
        case "c", "B": return [!number.boolValue]
        case "d", "f":
            let x = number.doubleValue
            return distinct([x * 2, x / 2, x + 0.25, 0.5, 0.9, 0.1, 1, 0, 0.999], from: x)
        default:
            let n = number.intValue
            return distinct([n + 1, n * 2, n - 1, 1, 2, 3, 4, 8, 0], from: n)
        }
    }
    if let list = value as? [NSNumber], let last = list.last {
        if list.allSatisfy({ ["d", "f"].contains(String(cString: $0.objCType)) }) {
            let x = list.map(\.doubleValue)
            return distinct([Array(x.dropLast()) + [x.last! + 1], x.map { $0 * 2 }, x + [x.last!], Array(x.dropLast())], from: x)
        }
        let n = list.map(\.intValue)
        return distinct([n + [last.intValue], Array(n.dropLast()), Array(n.dropLast()) + [last.intValue + 1], n.map { $0 * 2 }, n.reversed()], from: n)
    }
    return []
}

/// What a run left in its folder, without the config it records (config.json; the metadata of its
/// model, checkpoint and caches), times and the run's lock and event file.
func fingerprint(of folder: URL) throws -> [String: Data] {
    var result: [String: Data] = [:]
    let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])!
    for case let url as URL in files where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
        let name = String(url.path.dropFirst(folder.path.count + 1))
        if ["config.json", ".lock"].contains(name) || url.lastPathComponent.hasPrefix("events.out.tfevents") { continue }
        let data = try Data(contentsOf: url)
        switch url.pathExtension {
        case "safetensors": result[name] = try withoutRecords(safetensors: data)
        case "jsonl": result[name] = try withoutTimes(jsonLines: data)
        default: result[name] = data
        }
    }
    return result
}

/// Keys of logs and metadata that hold times.
private func isTime(_ key: String) -> Bool { key.hasSuffix("seconds") || key.hasSuffix("_second") }

/// A safetensors file's tensors (names, dtypes, shapes, bytes) without its metadata: what it
/// records of the run (config, times, scores the log holds too, the settings a cache is keyed by).
private func withoutRecords(safetensors data: Data) throws -> Data {
    let count = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
    var header = try XCTUnwrap(JSONSerialization.jsonObject(with: data.subdata(in: 8..<8 + count)) as? [String: Any])
    header["__metadata__"] = nil
    return try JSONSerialization.data(withJSONObject: header, options: .sortedKeys) + data.dropFirst(8 + count)
}

private func withoutTimes(jsonLines data: Data) throws -> Data {
    var lines: [Data] = []
    for line in data.split(separator: UInt8(ascii: "\n")) {
        let record = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        lines.append(try JSONSerialization.data(withJSONObject: record.filter { !isTime($0.key) }, options: .sortedKeys))
    }
    return Data(lines.joined(separator: [UInt8(ascii: "\n")]))
}

/// How a changed setting showed itself.
enum Verdict: Equatable {
    /// Refused as a setting the run would not read.
    case refused
    /// Accepted; the run did something else (or stopped with an error caused by the value).
    case changedTheRun
    /// Every alternative was accepted and changed nothing, or none was accepted.
    case noEffect(tried: [String], refusals: [String])
}

/// Probes the settings of recipe `R` from `base` (a config file's text).
struct SettingsProbe<R: Recipe> {
    let base: [String: Any]
    let folder: URL
    /// Alternatives for settings that are words or paths, by pattern (`data.sources[].kind`).
    let words: [String: [Any]]

    init(base text: String, folder: URL, words: [String: [Any]]) throws {
        base = try ConfigFile.parse(text, name: "base.yaml")
        (self.folder, self.words) = (folder, words)
    }

    /// Every setting of the base config's encoding, with its value.
    func everySetting() throws -> [(SettingPath, Any)] {
        let config = try R.Config.parse(json(base), name: "base.yaml")
        let encoder = JSONEncoder()
        encoder.userInfo[.everySetting] = true
        let tree = try XCTUnwrap(JSONSerialization.jsonObject(with: encoder.encode(config)) as? [String: Any])
        return settings(of: tree)
    }

    func json(_ tree: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: tree, options: .sortedKeys), as: UTF8.self)
    }

    /// Trains the config `tree` into a new folder named `name` and fingerprints it.
    func run(_ tree: [String: Any], name: String) throws -> [String: Data] {
        let output = folder.appendingPathComponent("runs/\(name)")
        defer { try? FileManager.default.removeItem(at: output) }
        let config = try R.Config.parse(json(tree), name: "probe.yaml")
        try R(config: config, directory: output, resume: false, parallel: nil, echo: { _ in }).harness().train()
        return try fingerprint(of: output)
    }

    /// Whether `message` names the setting: its path (`generator.grid`), also as a section's message
    /// gives it (`generator: grid ...`), or a section that holds it (`data.pan` for `data.pan.zoom`).
    func names(_ message: String, _ path: SettingPath) -> Bool {
        let key = path.description
        let parts = key.split(separator: ".")
        let sectioned = parts.count > 1 ? parts.dropLast().joined(separator: ".") + ": " + parts.last! : key
        let sections = parts.count > 2 ? (2..<parts.count).map { parts.prefix($0).joined(separator: ".") } : []
        return message.contains(key) || message.contains(sectioned) || sections.contains { message.contains($0 + " ") }
    }

    /// Tries the alternatives of `path` until one is refused as unread, by a message that names the
    /// setting, or changes the run (a run that stops with an error naming the setting or the value
    /// tried changed too). A setting whose every alternative is refused by a message naming it cannot
    /// be changed here: it is refused too (not a word without alternatives in `words`: its guesses are
    /// not valid values).
    func probe(_ path: SettingPath, value: Any, baseline: [String: Data]) throws -> Verdict {
        let given = words[path.pattern] ?? []
        // A word without alternatives: another word, a path in the probe's folder (never beside the tests).
        let guesses = (value as? String).map { [folder.appendingPathComponent("other-\(path.last)").path, $0.hasPrefix("/") ? "" : $0 + "-other"] } ?? []
        let candidates = given + alternatives(to: value) + guesses.filter { $0 != value as? String }
        var tried: [String] = [], refusals: [String] = []
        for (i, candidate) in candidates.prefix(6).enumerated() {
            let tree = setting(candidate, at: path.parts[...], in: base)
            do {
                _ = try R.Config.parse(json(tree), name: "probe.yaml")
            } catch let error as ConfigError {
                if ["not a setting of", "would ignore", "leave it out"].contains(where: error.message.contains), names(error.message, path) { return .refused }
                refusals.append(error.message)
                continue
            }
            tried.append("\(candidate)")
            do {
                if try run(tree, name: "\(path)-\(i)") != baseline { return .changedTheRun }
            } catch {
                let message = "\(error)".lowercased(), word = "\(candidate)".lowercased()
                if names(message, path) || message.contains(path.last.lowercased()) || (word.count > 2 && message.contains(word)) { return .changedTheRun }
                refusals.append("the run stopped, without naming the setting or the value: \(error)")
            }
        }
        if tried.isEmpty, !refusals.isEmpty, !(value is String) || !given.isEmpty, refusals.allSatisfy({ names($0, path) }) { return .refused }
        return .noEffect(tried: tried, refusals: refusals)
    }
}
