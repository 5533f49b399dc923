// PyTorch checkpoints (`torch.save`, Lightning's .ckpt) read without Python: a zip archive, stored
// uncompressed, of `data.pkl` (a pickle whose tensors name storages by key) and one `data/KEY` entry
// of raw little-endian bytes per storage. The pickle machine of Pickle.swift rebuilds dicts, lists and tuples and
// turns `torch._utils._rebuild_tensor_v2` into a reference to its storage; any other class is kept as
// an opaque object, so optimizer states and hyper-parameters of arbitrary types are read past, and
// only the tensors asked for are copied out of the mapped file.
import Foundation
import Torch

/// A PyTorch checkpoint file, mapped.
public final class TorchCheckpoint {
    /// A storage: its key (the `data/KEY` entry) and element type.
    public struct Storage { public var key: String; public var dtype: DType }

    /// A tensor as the pickle describes it: a view (offset, shape, strides in elements) of a storage.
    public struct TensorReference {
        public var storage: Storage
        public var offset: Int
        public var shape: [Int]
        public var strides: [Int]
    }

    public let url: URL
    /// The unpickled object (`data.pkl`).
    public private(set) var root: PickleObject = .none
    private let data: Data
    /// Entry name (without the archive's folder) → (offset of its bytes, size).
    private var entries: [String: (offset: Int, size: Int)] = [:]

    /// Opens `url`; throws if it is not a zip-format PyTorch checkpoint.
    public init(contentsOf url: URL) throws {
        self.url = url
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw TokenizerError.checkpoint("\(url.path): cannot read: \(error.localizedDescription)")
        }
        try readDirectory()
        guard let pickle = entries["data.pkl"] else { throw fail("a zip archive without data.pkl: not a PyTorch checkpoint") }
        var machine = Unpickler(bytes: [UInt8](data[pickle.offset..<(pickle.offset + pickle.size)]), fail: fail)
        root = try machine.run()
    }

    /// Whether the file starts as a zip archive does (PyTorch's format since 1.6).
    public static func isZip(_ url: URL) -> Bool {
        guard let handle = try? FileHandle(forReadingFrom: url), let head = try? handle.read(upToCount: 4) else { return false }
        return Array(head) == [0x50, 0x4B, 0x03, 0x04]
    }

    private func fail(_ message: String) -> TokenizerError { .checkpoint("\(url.path): \(message)") }

    /// The tensors of a state dict: `root`'s dict at `path` (e.g. ["state_dict"]; [] for a bare state
    /// dict), every value that is a tensor, by name. Nothing is copied until `tensor(_:)`.
    public func tensorReferences(at path: [String]) throws -> [String: TensorReference] {
        var node = root
        for key in path {
            guard case .dict(let d) = node, let next = d.values[key] else {
                throw fail("no '\(path.joined(separator: "."))' dict in the checkpoint (top-level keys: \(topLevelKeys.joined(separator: ", ")))")
            }
            node = next
        }
        guard case .dict(let d) = node else { throw fail("'\(path.joined(separator: "."))' is not a dict") }
        var out: [String: TensorReference] = [:]
        for key in d.keys { if case .tensor(let t) = d.values[key]! { out[key] = t } }
        return out
    }

    /// The keys of the top-level dict (empty when it is not a dict).
    public var topLevelKeys: [String] {
        if case .dict(let d) = root { return d.keys }
        return []
    }

    /// Copies a tensor out of the file (contiguous, on the CPU).
    public func tensor(_ ref: TensorReference) throws -> Tensor {
        guard let entry = entries["data/\(ref.storage.key)"] else { throw fail("storage \(ref.storage.key) is missing from the archive") }
        let size = ref.storage.dtype.byteSize
        guard ref.offset >= 0, ref.shape.allSatisfy({ $0 >= 0 }), ref.strides.allSatisfy({ $0 >= 0 }) else {
            throw fail("a tensor of shape \(ref.shape), strides \(ref.strides) at offset \(ref.offset): none may be negative")
        }
        // Sizes, strides and offsets come from the file: checked, so a forged one is refused, not a trap.
        let count = try Checked.product(ref.shape, "a tensor's shape")
        var last = ref.offset
        for (n, s) in zip(ref.shape, ref.strides) where n > 0 { last = try Checked.sum([last, Checked.product([n - 1, s], "a stride")], "a tensor's extent") }
        let bytes = try Checked.product([Checked.sum([last, 1], "a tensor's extent"), size], "a tensor's bytes")
        guard count == 0 || bytes <= entry.size else {
            throw fail("a tensor of shape \(ref.shape) reaches past its storage \(ref.storage.key) (\(entry.size) bytes)")
        }
        var contiguous = [Int](repeating: 1, count: ref.shape.count)
        for i in stride(from: ref.shape.count - 2, through: 0, by: -1) { contiguous[i] = contiguous[i + 1] * ref.shape[i + 1] }
        return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> Tensor in
            let base = raw.baseAddress! + entry.offset
            if contiguous == ref.strides || count <= 1 {
                return try Tensor.fromBytes(UnsafeRawBufferPointer(start: base + ref.offset * size, count: count * size), shape: ref.shape, dtype: ref.storage.dtype)
            }
            // A strided view: gather its elements in row-major order.
            var bytes = [UInt8](repeating: 0, count: count * size)
            var index = [Int](repeating: 0, count: ref.shape.count)
            for i in 0..<count {
                var element = ref.offset
                for (k, s) in zip(index, ref.strides) { element += k * s }
                for b in 0..<size { bytes[i * size + b] = (base + element * size + b).load(as: UInt8.self) }
                var axis = ref.shape.count - 1
                while axis >= 0 {
                    index[axis] += 1
                    if index[axis] < ref.shape[axis] { break }
                    index[axis] = 0
                    axis -= 1
                }
            }
            return try bytes.withUnsafeBytes { try Tensor.fromBytes($0, shape: ref.shape, dtype: ref.storage.dtype) }
        }
    }

    // MARK: zip

    private func readDirectory() throws {
        func u16(_ at: Int) -> Int { Int(data[at]) | Int(data[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        func u64(_ at: Int) -> Int { u32(at) | u32(at + 4) << 32 }
        let n = data.count
        guard n >= 22, data[0] == 0x50, data[1] == 0x4B, data[2] == 0x03, data[3] == 0x04 else {
            throw fail("not a zip archive (PyTorch checkpoints written by torch.save since 1.6 are; an older one must be saved again)")
        }
        var end = -1
        for at in stride(from: n - 22, through: Swift.max(0, n - 22 - 65_535), by: -1) where u32(at) == 0x0605_4B50 {
            end = at
            break
        }
        guard end >= 0 else { throw fail("a zip archive without its end record (truncated?)") }
        var count = u16(end + 10), directory = u32(end + 16), directorySize = u32(end + 12)
        // Zip64: the locator right before the end record points at the zip64 end record.
        if end >= 20, u32(end - 20) == 0x0706_4B50 {
            let record = u64(end - 12)
            guard record + 56 <= n, u32(record) == 0x0606_4B50 else { throw fail("a broken zip64 end record") }
            count = u64(record + 32)
            directorySize = u64(record + 40)
            directory = u64(record + 48)
        }
        guard directory >= 0, directory + directorySize <= n else { throw fail("a zip directory past the end of the file (truncated?)") }
        var at = directory
        for _ in 0..<count {
            guard at + 46 <= n, u32(at) == 0x0201_4B50 else { throw fail("a broken zip directory entry") }
            let method = u16(at + 10)
            var compressed = u32(at + 20), uncompressed = u32(at + 24)
            let nameLength = u16(at + 28), extraLength = u16(at + 30), commentLength = u16(at + 32)
            var local = u32(at + 42)
            guard at + 46 + nameLength + extraLength <= n else { throw fail("a broken zip directory entry") }
            let name = String(decoding: data[(at + 46)..<(at + 46 + nameLength)], as: UTF8.self)
            // Zip64 extra field: the 64-bit values of the fields that hold 0xFFFFFFFF, in this order.
            var extra = at + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let tag = u16(extra), size = u16(extra + 2)
                if tag == 0x0001 {
                    var field = extra + 4
                    if uncompressed == 0xFFFF_FFFF { uncompressed = u64(field); field += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = u64(field); field += 8 }
                    if local == 0xFFFF_FFFF { local = u64(field) }
                }
                extra += 4 + size
            }
            at = extraEnd + commentLength
            guard method == 0, compressed == uncompressed else { throw fail("zip entry \(name) is compressed; torch.save stores entries uncompressed") }
            guard local + 30 <= n, u32(local) == 0x0403_4B50 else { throw fail("zip entry \(name) has no local header") }
            let start = local + 30 + u16(local + 26) + u16(local + 28)
            guard start + compressed <= n else { throw fail("zip entry \(name) reaches past the end of the file (truncated?)") }
            // Entries sit under one folder named after the archive: keep the path below it.
            let inner = name.firstIndex(of: "/").map { String(name[name.index(after: $0)...]) } ?? name
            entries[inner] = (start, compressed)
        }
    }
}
