// Where the files that come with Magvit live: the source tree this binary was built from (the shipped
// models in models/, what scripts/setup.sh puts in .deps/), unless $MAGVIT_MODEL or $MAGVIT_WEIGHTS
// name others. The one locator every command, config file, metric and benchmark goes through, so a
// shipped file is found the same way from any working directory.
import Foundation

public enum ShippedResources {
    /// The source tree's root (this file is Sources/Torch/ShippedResources.swift in it).
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The shipped model's path inside the tree; configs name it so.
    public static let defaultTokenizerPath = "models/default-tokenizer.safetensors"

    /// The shipped default tokenizer: $MAGVIT_MODEL, else models/default-tokenizer.safetensors in the tree.
    public static var defaultTokenizer: URL {
        if let path = ProcessInfo.processInfo.environment["MAGVIT_MODEL"] { return URL(fileURLWithPath: path) }
        return root.appendingPathComponent(defaultTokenizerPath)
    }

    /// The converted metric networks: $MAGVIT_WEIGHTS, else .deps/weights in the tree.
    public static var metricWeights: URL {
        if let path = ProcessInfo.processInfo.environment["MAGVIT_WEIGHTS"] { return URL(fileURLWithPath: path) }
        return root.appendingPathComponent(".deps/weights")
    }

    /// A path inside the tree (`.deps/media/carphone_pristine.mp4`); the shipped tokenizer's path
    /// means `defaultTokenizer`, so $MAGVIT_MODEL counts for configs that name it too.
    public static func url(_ relative: String) -> URL {
        let normalized = relative.hasPrefix("./") ? String(relative.dropFirst(2)) : relative
        if normalized == defaultTokenizerPath { return defaultTokenizer }
        return root.appendingPathComponent(normalized)
    }

    /// The path relative to `base` (the folder of a config file, or the working directory); where
    /// nothing is there, the working directory's and then the tree's file of that name where one
    /// exists (a config written for the repository root, or naming a shipped file); else the path
    /// relative to `base`, for the error to name. Absolute paths (and `~/...`) are kept as they are.
    public static func resolve(_ path: String, relativeTo base: URL) -> String {
        guard !path.isEmpty else { return path }
        if path.hasPrefix("~") { return (path as NSString).expandingTildeInPath }
        guard !path.hasPrefix("/") else { return path }
        let exists = { (url: URL) in FileManager.default.fileExists(atPath: url.path) }
        let local = base.appendingPathComponent(path).standardizedFileURL
        if exists(local) { return local.path }
        let working = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(path).standardizedFileURL
        if exists(working) { return working.path }
        let shipped = url(path).standardizedFileURL
        if exists(shipped) { return shipped.path }
        return local.path
    }

    /// The rule, in words, for messages about a path that was not found.
    public static let lookupRule = "a relative path in a config file is looked up beside the config file, then in the working directory, then in the Magvit source tree \(root.path)"
}
