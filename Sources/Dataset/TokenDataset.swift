// A token dataset: a folder of shards `tokens-00000.safetensors`, ... of a fixed number of clips each
// (the last may hold fewer) and the index `dataset.json`, written last, so a folder without it is
// unfinished. Each shard holds, for its N clips:
//   ids          int32 (N, t, h, w)  token ids
//   source       int32 (N)           index into the shard's metadata `sources` (a JSON array of paths)
//   clip_index   int32 (N)           the clip's number within its source file
//   start_frame  int32 (N)           the source frame the clip starts at (after --fps resampling)
//   frames       int32 (N)           real frames in the clip (a padded tail has fewer than clip_frames)
//   label        int32 (N)           class id, -1 when unlabelled
//   fps          float64 (N)         the frame rate of the clip's frames
// The layout is documented in docs/datasets.md; scripts/read_tokens.py reads it with numpy.
import Codec
import Crypto
import Foundation
import NN
import Torch

/// One tokenized clip and where it came from.
public struct ClipRecord: Sendable, Equatable {
    public var ids: [Int32]
    public var source: String
    public var clipIndex: Int
    public var startFrame: Int
    public var frames: Int
    public var label: Int
    public var fps: Double

    public init(ids: [Int32], source: String, clipIndex: Int, startFrame: Int, frames: Int, label: Int, fps: Double) {
        (self.ids, self.source, self.clipIndex, self.startFrame) = (ids, source, clipIndex, startFrame)
        (self.frames, self.label, self.fps) = (frames, label, fps)
    }
}

/// `dataset.json`.
public struct DatasetIndex: Codable, Sendable, Equatable {
    public static let formatName = "magvit-token-dataset"

    public struct Shard: Codable, Sendable, Equatable {
        public var file: String
        public var clips: Int
        /// SHA-256 of the shard file, checked when it is read.
        public var sha256: String
    }

    public struct Failure: Codable, Sendable, Equatable {
        public var path: String
        public var error: String
    }

    public var format = formatName
    public var version = 1
    public var tokenizer: TokenFile.TokenizerIdentity
    public var bits: Int
    public var codebookSize: Int
    /// Latent grid of a clip: t, h, w.
    public var grid: [Int]
    public var clipFrames: Int
    /// Frame size tokenized: width, height.
    public var size: [Int]
    /// The frame rate clips were resampled to (nil: each source's own).
    public var resampleFPS: Double?
    public var shardSize: Int
    public var shards: [Shard]
    public var clips: Int
    /// Input files, and those that failed (skipped: none of their clips are in the shards).
    public var files: Int
    public var failures: [Failure]
    /// Class names by id (empty when unlabelled) and where the labels came from.
    public var classes: [String]
    public var labels: String
    /// SHA-256 of the input paths, one per line, in order: what the dataset was made from.
    public var inputsSHA256: String

    enum CodingKeys: String, CodingKey {
        case format, version, tokenizer, bits, grid, size, shards, clips, files, failures, classes, labels
        case codebookSize = "codebook_size", clipFrames = "clip_frames", resampleFPS = "resample_fps", shardSize = "shard_size", inputsSHA256 = "inputs_sha256"
    }

    public var tokensPerClip: Int { grid.reduce(1, *) }

    /// Checks the index as read from a file, before any of its numbers is used: the vocabulary, the
    /// grid, the shard list (named in order, so no entry can name a folder, another file or a shard
    /// twice; counts within the shard size, adding up to `clips`), distinct class names.
    func validate() throws {
        func require(_ ok: Bool, _ message: @autoclosure () -> String) throws { if !ok { throw DatasetError(message()) } }
        try require((1...30).contains(bits) && codebookSize == 1 << bits, "bits must be 1...30 with codebook_size 2^bits, found \(bits) and \(codebookSize)")
        try require(grid.count == 3 && grid.allSatisfy { (1...4096).contains($0) }, "grid must be [t, h, w] of 1...4096 each, found \(grid)")
        try require((1...Self.maxShardSize).contains(shardSize), "shard_size must be 1...\(Self.maxShardSize), found \(shardSize)")
        try Self.validate(shards, shardSize: shardSize)
        let total = try Self.clips(shards)
        try require(total == clips, "\(clips) clips, but the shards hold \(total)")
        try require(files >= 0 && failures.count <= files, "files must be at least the \(failures.count) failures, found \(files)")
        try require(Set(classes).count == classes.count, "class names must be distinct, found \(classes)")
    }

    /// The shards' clips added up.
    static func clips(_ shards: [Shard]) throws -> Int {
        do { return try Checked.sum(shards.map(\.clips), "the shards' clips") } catch { throw DatasetError(error.description) }
    }

    /// Clips per shard at most.
    public static let maxShardSize = 1 << 24

    /// Checks shard entries as read from a file (the index or the tokenize state): shard i is named
    /// `tokens-i`, holds 0...`shardSize` clips and has a well-formed SHA-256 no other entry has.
    static func validate(_ shards: [Shard], shardSize: Int) throws {
        var hashes = Set<String>()
        for (i, shard) in shards.enumerated() {
            let name = TokenDataset.shardName(i)
            guard shard.file == name else { throw DatasetError("shard \(i) must be the file \(name), found '\(TerminalText.escaped(shard.file))'") }
            guard (0...shardSize).contains(shard.clips) else { throw DatasetError("\(name): clips must be 0...\(shardSize), found \(shard.clips)") }
            guard shard.sha256.count == 64, shard.sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw DatasetError("\(name): sha256 must be 64 lowercase hex digits, found '\(TerminalText.escaped(shard.sha256))'")
            }
            guard hashes.insert(shard.sha256).inserted else { throw DatasetError("\(name): the same SHA-256 as an earlier shard (a duplicated entry)") }
        }
    }
}

/// Reading a finished dataset.
public struct TokenDataset: Sendable {
    public static let indexName = "dataset.json"
    public let url: URL
    public let index: DatasetIndex

    public static func shardName(_ i: Int) -> String { String(format: "tokens-%05d.safetensors", i) }

    /// Opens `folder`, refusing a folder without an index (unfinished or not a dataset) or an index
    /// that does not parse or is inconsistent.
    public init(_ folder: URL) throws {
        url = folder
        let file = folder.appendingPathComponent(Self.indexName)
        guard FileManager.default.fileExists(atPath: file.path) else {
            let unfinished = FileManager.default.fileExists(atPath: folder.appendingPathComponent(Tokenization.stateName).path)
            throw DatasetError(unfinished
                ? "\(folder.path): an unfinished dataset (no \(Self.indexName) yet); rerun `magvit tokenize` with the same inputs to finish it"
                : "\(folder.path): not a token dataset (no \(Self.indexName); make one with `magvit tokenize INPUTS -o \(folder.path)`)")
        }
        let decoded: DatasetIndex
        let contents: Data
        do { contents = try Data(contentsOf: file) } catch {
            throw DatasetError("\(file.path): cannot read the dataset index (\(OutputFiles.reason(error, at: file.path)))")
        }
        do { decoded = try JSONDecoder().decode(DatasetIndex.self, from: contents) } catch {
            throw DatasetError("\(file.path): not a valid dataset index (\(error))")
        }
        let index = decoded
        guard index.format == DatasetIndex.formatName, index.version == 1 else {
            throw DatasetError("\(file.path): format \(index.format) version \(index.version), expected \(DatasetIndex.formatName) version 1")
        }
        do { try index.validate() } catch let error as DatasetError { throw DatasetError("\(file.path): \(error.description)") }
        self.index = index
    }

    /// Refuses a dataset made by another tokenizer than the one given by its weights hash.
    public func checkTokenizer(weights: String, name: String) throws {
        guard index.tokenizer.weights == weights else {
            throw DatasetError("\(url.path) was tokenized by '\(index.tokenizer.name)' (weights \(index.tokenizer.weights.prefix(12))), not by '\(name)' (weights \(weights.prefix(12))): use the tokenizer that made it, or tokenize again")
        }
    }

    /// A shard's records, checked against its recorded hash and the index.
    public func shard(_ i: Int) throws -> ShardContents {
        let entry = index.shards[i]
        let file = url.appendingPathComponent(entry.file)
        guard let data = try? Data(contentsOf: file) else { throw DatasetError("\(file.path): missing or unreadable shard") }
        guard sha256Hex(data) == entry.sha256 else {
            throw DatasetError("\(file.path): corrupt shard (its SHA-256 differs from the one in \(Self.indexName))")
        }
        let contents: ShardContents
        do { contents = try ShardContents(SafeTensors.parse(data, path: file.path)) } catch let e as DatasetError {
            throw DatasetError("\(file.path): \(e.description)")
        }
        guard contents.count == entry.clips, contents.ids.shape == [entry.clips] + index.grid else {
            throw DatasetError("\(file.path): holds ids of shape \(contents.ids.shape), the index says \([entry.clips] + index.grid)")
        }
        // What the readers index with: ids in the vocabulary, labels in the classes, sources in the list.
        for (name, tensor, range) in [("ids", contents.ids, 0..<index.codebookSize), ("label", contents.labels, -1..<index.classes.count),
                                      ("source", contents.tensors["source"]!, 0..<contents.sources.count)] where contents.count > 0 {
            let (low, high) = (Int(try tensor.min().to(.int64).toArray(Int64.self)[0]), Int(try tensor.max().to(.int64).toArray(Int64.self)[0]))
            guard range.contains(low), range.contains(high) else {
                throw DatasetError("\(file.path): '\(name)' holds \(low)...\(high), outside \(range.lowerBound)..<\(range.upperBound)"
                    + (name == "ids" ? " (\(index.bits)-bit codes)" : name == "label" ? " (\(index.classes.count) classes)" : " (\(contents.sources.count) sources)"))
            }
        }
        return contents
    }

    /// Every clip's ids as (N, t·h·w) int32 and labels (N) int64 (-1 when unlabelled), in order.
    public func allTokens() throws -> (ids: Tensor, labels: Tensor) {
        guard index.clips > 0 else { throw DatasetError("\(url.path): holds no clips") }
        var ids: [Tensor] = [], labels: [Tensor] = []
        for i in index.shards.indices where index.shards[i].clips > 0 {
            let s = try shard(i)
            ids.append(try s.ids.reshape([s.count, -1]))
            labels.append(try s.labels.to(.int64))
        }
        return (try concatenate(ids, dim: 0), try concatenate(labels, dim: 0))
    }
}

/// The tensors and metadata of one shard.
public struct ShardContents: @unchecked Sendable {
    public let ids: Tensor
    public let labels: Tensor
    public let sources: [String]
    public let tensors: [String: Tensor]
    public var count: Int { ids.size(0) }

    static let perClip = ["source", "clip_index", "start_frame", "frames", "label", "fps"]

    init(_ contents: SafeTensors.Contents) throws {
        guard let ids = contents.tensors["ids"], ids.dtype == .int32, ids.rank == 4 else {
            throw DatasetError("not a token shard: expected an int32 tensor 'ids' of shape (N, t, h, w)")
        }
        for name in Self.perClip {
            let dtype: DType = name == "fps" ? .float64 : .int32
            guard let t = contents.tensors[name], t.shape == [ids.size(0)], t.dtype == dtype else {
                throw DatasetError("not a token shard: expected a \(dtype) tensor '\(name)' of shape [\(ids.size(0))]")
            }
        }
        guard let text = contents.metadata["sources"], let sources = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
            throw DatasetError("not a token shard: expected a JSON array of paths in the metadata 'sources'")
        }
        self.ids = ids
        labels = contents.tensors["label"]!
        self.sources = sources
        tensors = contents.tensors
    }

    /// The clips as records (for tests and tools).
    public func records() throws -> [ClipRecord] {
        let perClip = ids.size(1) * ids.size(2) * ids.size(3)
        let all = try ids.toArray(Int32.self)
        func column(_ name: String) throws -> [Int] { try tensors[name]!.to(.int64).toArray(Int64.self).map(Int.init) }
        let (source, clip, start, frames, label) = (try column("source"), try column("clip_index"), try column("start_frame"), try column("frames"), try column("label"))
        let fps = try tensors["fps"]!.toArray(Double.self)
        return try (0..<count).map { i in
            guard source[i] >= 0, source[i] < sources.count else { throw DatasetError("clip \(i) names source \(source[i]) of \(sources.count)") }
            return ClipRecord(ids: Array(all[(i * perClip)..<((i + 1) * perClip)]), source: sources[source[i]], clipIndex: clip[i],
                              startFrame: start[i], frames: frames[i], label: label[i], fps: fps[i])
        }
    }

    /// Writes records as a shard; returns the SHA-256 of the bytes written.
    static func write(_ records: [ClipRecord], grid: [Int], tokenizerWeights: String, to url: URL) throws -> String {
        var sources: [String] = [], sourceIndex: [String: Int32] = [:]
        for r in records where sourceIndex[r.source] == nil {
            sourceIndex[r.source] = Int32(sources.count)
            sources.append(r.source)
        }
        let n = records.count
        func int32(_ values: [Int]) throws -> Tensor { try Tensor(values.map { Int32(clamping: $0) }, shape: [n]) }
        let tensors: [String: Tensor] = [
            "ids": try Tensor(records.flatMap(\.ids), shape: [n] + grid),
            "source": try Tensor(records.map { sourceIndex[$0.source]! }, shape: [n]),
            "clip_index": try int32(records.map(\.clipIndex)), "start_frame": try int32(records.map(\.startFrame)),
            "frames": try int32(records.map(\.frames)), "label": try int32(records.map(\.label)),
            "fps": try Tensor(records.map(\.fps), shape: [n]),
        ]
        let metadata = ["format": "magvit-token-shard", "tokenizer_weights": tokenizerWeights,
                        "sources": String(decoding: try JSONEncoder().encode(sources), as: UTF8.self)]
        let data = try SafeTensors.encoded(tensors, metadata: metadata)
        try OutputFiles.write(data, to: url)
        return sha256Hex(data)
    }
}

func sha256Hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
