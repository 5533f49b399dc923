// What a dataset job reads: INPUTS (files, folders searched recursively, glob patterns, or a .txt
// file listing paths) expanded into one ordered list of media files, with optional labels from the
// sub-folder names or from a CSV of path,label rows.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A dataset input that cannot be used, with what was expected.
public struct DatasetError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Where class labels come from.
public enum LabelSource: Sendable, Equatable {
    case none
    /// The name of the folder holding each file, below the input folder named on the command line.
    case folders
    /// A CSV file of `path,label` rows (a header row `path,label` is skipped); paths as listed in the
    /// inputs, relative to the CSV's folder, or file names.
    case csv(String)

    /// Parses `--labels`: `folders`, `none` or a CSV file's path.
    public init(_ text: String) {
        switch text {
        case "", "none": self = .none
        case "folders": self = .folders
        default: self = .csv(text)
        }
    }

    public var description: String {
        switch self {
        case .none: "none"
        case .folders: "folders"
        case .csv(let path): path
        }
    }
}

/// The media files of a job, in a fixed order, with their class ids when labelled.
public struct InputList: Sendable {
    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "bmp", "webp", "ppm", "tif", "tiff"]
    public static let videoExtensions: Set<String> = ["mp4", "mkv", "avi", "mov", "webm", "gif", "y4m", "mpg", "mpeg", "m4v", "ts"]
    public static let mediaExtensions: Set<String> = imageExtensions.union(videoExtensions)

    /// Absolute paths, sorted within each input, inputs in the order given.
    public let files: [String]
    /// Class id of each file (nil when unlabelled).
    public let labels: [Int]?
    /// Class names in id order (empty when unlabelled).
    public let classes: [String]

    public init(files: [String], labels: [Int]? = nil, classes: [String] = []) {
        self.files = files
        self.labels = labels
        self.classes = classes
    }

    /// Expands `inputs`. A folder contributes every media file below it (hidden entries skipped), a
    /// pattern with *, ? or [ its matches, a .txt file the paths it lists (one per line, relative to
    /// its folder; # starts a comment). A file listed twice is kept once. Nothing found is an error.
    public static func expand(_ inputs: [String], labels: LabelSource = .none) throws -> InputList {
        guard !inputs.isEmpty else { throw DatasetError("no inputs: give files, folders, glob patterns or a .txt list of paths") }
        var files: [String] = [], roots: [String: String] = [:], seen = Set<String>()
        func add(_ path: String, root: String?) {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            guard seen.insert(absolute).inserted else { return }
            files.append(absolute)
            if let root { roots[absolute] = root }
        }
        for input in inputs {
            if input.contains(where: { "*?[".contains($0) }) && !FileManager.default.fileExists(atPath: input) {
                let matches = try glob(input).filter { isMedia($0) }
                guard !matches.isEmpty else { throw DatasetError("\(input): the pattern matches no media files") }
                matches.forEach { add($0, root: nil) }
                continue
            }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: input, isDirectory: &isFolder) else {
                throw DatasetError("\(input): no such file or folder")
            }
            if isFolder.boolValue {
                let found = try mediaFiles(under: input)
                guard !found.isEmpty else {
                    throw DatasetError("\(input): no media files below it (\(mediaExtensions.sorted().joined(separator: ", ")))")
                }
                let root = URL(fileURLWithPath: input).standardizedFileURL.path
                found.forEach { add($0, root: root) }
            } else if input.lowercased().hasSuffix(".txt") {
                try listedPaths(input).forEach { add($0, root: nil) }
            } else {
                add(input, root: nil)
            }
        }
        switch labels {
        case .none: return InputList(files: files)
        case .folders:
            let names = try files.map { file -> String in
                guard let root = roots[file] else {
                    throw DatasetError("\(file): --labels folders needs every input to be a folder with a sub-folder per class")
                }
                let relative = file.dropFirst(root.count + 1).split(separator: "/")
                guard relative.count >= 2 else {
                    throw DatasetError("\(file): directly in \(root); with --labels folders every file must be in a sub-folder named for its class")
                }
                return String(relative[relative.count - 2])
            }
            return labelled(files, names)
        case .csv(let path):
            let table = try csvLabels(path)
            let names = try files.map { file -> String in
                guard let name = table[file] ?? table[URL(fileURLWithPath: file).lastPathComponent] else {
                    throw DatasetError("\(file): no row in \(path) (expected a row `path,label` naming it by its path or file name)")
                }
                return name
            }
            return labelled(files, names)
        }
    }

    static func labelled(_ files: [String], _ names: [String]) -> InputList {
        let classes = Array(Set(names)).sorted()
        let ids = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        return InputList(files: files, labels: names.map { ids[$0]! }, classes: classes)
    }

    static func isMedia(_ path: String) -> Bool { mediaExtensions.contains(URL(fileURLWithPath: path).pathExtension.lowercased()) }

    /// Media files below a folder, recursively, sorted by path.
    static func mediaFiles(under folder: String) throws -> [String] {
        let root = URL(fileURLWithPath: folder).standardizedFileURL
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else {
            throw DatasetError("\(folder): cannot be listed")
        }
        var found: [String] = []
        for case let url as URL in walker where isMedia(url.path) {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { found.append(url.standardizedFileURL.path) }
        }
        return found.sorted()
    }

    /// The paths a .txt list names, relative to its folder.
    static func listedPaths(_ list: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: list, encoding: .utf8) else { throw DatasetError("\(list): cannot be read as a UTF-8 list of paths") }
        let base = URL(fileURLWithPath: list).deletingLastPathComponent()
        let paths = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            .map { $0.hasPrefix("/") ? $0 : base.appendingPathComponent($0).path }
        guard !paths.isEmpty else { throw DatasetError("\(list): lists no paths") }
        for path in paths where !FileManager.default.fileExists(atPath: path) {
            throw DatasetError("\(path) (listed in \(list)): no such file")
        }
        return paths
    }

    /// `path,label` rows: keys are absolute paths (relative ones resolved against the CSV's folder)
    /// and, for bare file names, the names themselves.
    static func csvLabels(_ csv: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: csv, encoding: .utf8) else { throw DatasetError("\(csv): cannot be read as a UTF-8 CSV of path,label rows") }
        let base = URL(fileURLWithPath: csv).deletingLastPathComponent()
        var table: [String: String] = [:]
        for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            if number == 0, fields.first?.lowercased() == "path" { continue }
            guard fields.count == 2, !fields[0].isEmpty, !fields[1].isEmpty else {
                throw DatasetError("\(csv):\(number + 1): expected `path,label`, got '\(line)'")
            }
            let key = fields[0].contains("/") ? (fields[0].hasPrefix("/") ? fields[0] : base.appendingPathComponent(fields[0]).standardizedFileURL.path) : fields[0]
            table[key] = fields[1]
        }
        return table
    }

    /// The sorted matches of a shell pattern.
    static func glob(_ pattern: String) throws -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        let status = Glibc.glob(pattern, 0, nil, &matches)
        guard status == 0 else {
            if status == GLOB_NOMATCH { return [] }
            throw DatasetError("\(pattern): cannot be expanded (glob error \(status))")
        }
        return (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}
