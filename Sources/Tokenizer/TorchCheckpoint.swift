// PyTorch checkpoints (`torch.save`, Lightning's .ckpt) read without Python: a zip archive, stored
// uncompressed, of `data.pkl` (a pickle whose tensors name storages by key) and one `data/KEY` entry
// of raw little-endian bytes per storage. A small pickle machine rebuilds dicts, lists and tuples and
// turns `torch._utils._rebuild_tensor_v2` into a reference to its storage; any other class is kept as
// an opaque object, so optimizer states and hyper-parameters of arbitrary types are read past, and
// only the tensors asked for are copied out of the mapped file.
import Foundation
import Torch

/// A value of a PyTorch pickle.
public indirect enum PickleObject {
    case none, bool(Bool), int(Int), float(Double), string(String), bytes([UInt8])
    case tuple([PickleObject]), list(PickleList), dict(PickleDict)
    /// A class or function named by module and name.
    case global(String)
    /// An instance of a class this reader does not know (its class's name).
    case object(String)
    case storage(TorchCheckpoint.Storage)
    case tensor(TorchCheckpoint.TensorReference)
    case mark
}

/// A pickled list (a reference: pickles share and then fill containers).
public final class PickleList { public var items: [PickleObject] = [] }

/// A pickled dict with its keys in order; only string and integer keys are kept.
public final class PickleDict {
    public var keys: [String] = []
    public var values: [String: PickleObject] = [:]
    func set(_ key: PickleObject, _ value: PickleObject) {
        let name: String
        switch key {
        case .string(let s): name = s
        case .int(let i): name = String(i)
        default: return
        }
        if values.updateValue(value, forKey: name) == nil { keys.append(name) }
    }
}

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

/// The pickle opcodes `torch.save` writes (protocol 2, and the few of later protocols Python's
/// pickle may add), over the values above.
private struct Unpickler {
    let bytes: [UInt8]
    let fail: (String) -> TokenizerError
    var at = 0
    var stack: [PickleObject] = []
    var marks: [Int] = []
    var memo: [Int: PickleObject] = [:]

    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, at + n <= bytes.count else { throw fail("data.pkl ends early (truncated pickle)") }
        defer { at += n }
        return bytes[at..<(at + n)]
    }

    mutating func uint(_ n: Int) throws -> Int {
        try take(n).reversed().reduce(0) { $0 << 8 | Int($1) }
    }

    mutating func line() throws -> String {
        guard let end = bytes[at...].firstIndex(of: 0x0A) else { throw fail("data.pkl ends early (truncated pickle)") }
        defer { at = end + 1 }
        return String(decoding: bytes[at..<end], as: UTF8.self)
    }

    mutating func pop() throws -> PickleObject {
        guard let v = stack.popLast() else { throw fail("a malformed pickle (empty stack)") }
        return v
    }

    mutating func popMark() throws -> [PickleObject] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw fail("a malformed pickle (no mark)") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    func signed(_ slice: ArraySlice<UInt8>) -> Int {
        guard !slice.isEmpty else { return 0 }
        var value = slice.reversed().reduce(0) { $0 << 8 | Int($1) }
        if slice.count < 8, slice.last! & 0x80 != 0 { value -= 1 << (8 * slice.count) }
        return value
    }

    mutating func run() throws -> PickleObject {
        while true {
            let op = try take(1).first!
            switch op {
            case 0x80: _ = try take(1)                                         // PROTO
            case 0x95: _ = try take(8)                                         // FRAME
            case 0x2E: return try pop()                                        // STOP
            case 0x28: marks.append(stack.count)                               // MARK
            case 0x4E: stack.append(.none)                                     // NONE
            case 0x88: stack.append(.bool(true))                               // NEWTRUE
            case 0x89: stack.append(.bool(false))                              // NEWFALSE
            case 0x4A: stack.append(.int(signed(try take(4))))                 // BININT
            case 0x4B: stack.append(.int(try uint(1)))                         // BININT1
            case 0x4D: stack.append(.int(try uint(2)))                         // BININT2
            case 0x8A: stack.append(.int(signed(try take(try uint(1)))))       // LONG1
            case 0x8B: stack.append(.int(signed(try take(try uint(4)))))       // LONG4
            case 0x49: stack.append(.int(Int(try line()) ?? 0))                // INT
            case 0x4C: stack.append(.int(Int(try line().dropLast()) ?? 0))    // LONG
            case 0x47: stack.append(.float(Double(bitPattern: try take(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }))) // BINFLOAT
            case 0x46: stack.append(.float(Double(try line()) ?? .nan))       // FLOAT
            case 0x58: stack.append(.string(String(decoding: try take(try uint(4)), as: UTF8.self)))  // BINUNICODE
            case 0x8C: stack.append(.string(String(decoding: try take(try uint(1)), as: UTF8.self)))  // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(String(decoding: try take(try uint(8)), as: UTF8.self)))  // BINUNICODE8
            case 0x54: stack.append(.string(String(decoding: try take(try uint(4)), as: UTF8.self)))  // BINSTRING
            case 0x55: stack.append(.string(String(decoding: try take(try uint(1)), as: UTF8.self)))  // SHORT_BINSTRING
            case 0x42: stack.append(.bytes(Array(try take(try uint(4)))))     // BINBYTES
            case 0x43: stack.append(.bytes(Array(try take(try uint(1)))))     // SHORT_BINBYTES
            case 0x8E: stack.append(.bytes(Array(try take(try uint(8)))))     // BINBYTES8
            case 0x29: stack.append(.tuple([]))                                // EMPTY_TUPLE
            case 0x85: stack.append(.tuple([try pop()]))                       // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))               // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))  // TUPLE3
            case 0x74: stack.append(.tuple(try popMark()))                     // TUPLE
            case 0x5D: stack.append(.list(PickleList()))                       // EMPTY_LIST
            case 0x6C: let l = PickleList(); l.items = try popMark(); stack.append(.list(l))  // LIST
            case 0x61: let v = try pop(); if case .list(let l) = stack.last { l.items.append(v) }  // APPEND
            case 0x65: let vs = try popMark(); if case .list(let l) = stack.last { l.items += vs }  // APPENDS
            case 0x7D: stack.append(.dict(PickleDict()))                       // EMPTY_DICT
            case 0x64:                                                         // DICT
                let items = try popMark(), d = PickleDict()
                for i in stride(from: 0, to: items.count - 1, by: 2) { d.set(items[i], items[i + 1]) }
                stack.append(.dict(d))
            case 0x73: let v = try pop(), k = try pop(); if case .dict(let d) = stack.last { d.set(k, v) }  // SETITEM
            case 0x75:                                                         // SETITEMS
                let items = try popMark()
                if case .dict(let d) = stack.last { for i in stride(from: 0, to: items.count - 1, by: 2) { d.set(items[i], items[i + 1]) } }
            case 0x8F: stack.append(.object("set"))                            // EMPTY_SET
            case 0x90: _ = try popMark()                                       // ADDITEMS
            case 0x91: _ = try popMark(); stack.append(.object("frozenset"))  // FROZENSET
            case 0x30: _ = try pop()                                           // POP
            case 0x31: _ = try popMark()                                       // POP_MARK
            case 0x32: guard let top = stack.last else { throw fail("a malformed pickle") }; stack.append(top)  // DUP
            case 0x71: memo[try uint(1)] = stack.last                          // BINPUT
            case 0x72: memo[try uint(4)] = stack.last                          // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last                           // MEMOIZE
            case 0x70: memo[Int(try line()) ?? -1] = stack.last                // PUT
            case 0x68, 0x6A, 0x67:                                             // BINGET, LONG_BINGET, GET
                let key = op == 0x68 ? try uint(1) : op == 0x6A ? try uint(4) : Int(try line()) ?? -1
                guard let v = memo[key] else { throw fail("a malformed pickle (memo \(key) unset)") }
                stack.append(v)
            case 0x63:                                                         // GLOBAL
                let module = try line(), name = try line()
                stack.append(.global("\(module).\(name)"))
            case 0x93:                                                         // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let n) = name, case .string(let m) = module else { throw fail("a malformed pickle (global)") }
                stack.append(.global("\(m).\(n)"))
            case 0x52:                                                         // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try reduce(callable, args))
            case 0x81:                                                         // NEWOBJ
                _ = try pop()
                let cls = try pop()
                stack.append(try reduce(cls, .tuple([])))
            case 0x92:                                                         // NEWOBJ_EX
                _ = try pop(); _ = try pop()
                let cls = try pop()
                stack.append(try reduce(cls, .tuple([])))
            case 0x62: _ = try pop()                                           // BUILD: state of an opaque object
            case 0x51: stack.append(try persistent(try pop()))                 // BINPERSID
            default:
                throw fail(String(format: "pickle opcode 0x%02X at byte %d is not one a PyTorch checkpoint uses", op, at - 1))
            }
        }
    }

    /// `('storage', torch.FloatStorage, key, location, numel)` → a storage.
    func persistent(_ pid: PickleObject) throws -> PickleObject {
        guard case .tuple(let t) = pid, t.count >= 3, case .string("storage") = t[0], case .global(let type) = t[1] else {
            throw fail("a persistent id that is not a storage")
        }
        let key: String
        switch t[2] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw fail("a storage without a key")
        }
        let types: [String: DType] = [
            "torch.FloatStorage": .float32, "torch.DoubleStorage": .float64, "torch.HalfStorage": .float16,
            "torch.BFloat16Storage": .bfloat16, "torch.LongStorage": .int64, "torch.IntStorage": .int32,
            "torch.ByteStorage": .uint8, "torch.BoolStorage": .bool,
        ]
        // Storages of other types (optimizer step counters as int16, ...) stay opaque.
        guard let dtype = types[type] else { return .object(type) }
        return .storage(TorchCheckpoint.Storage(key: key, dtype: dtype))
    }

    func reduce(_ callable: PickleObject, _ args: PickleObject) throws -> PickleObject {
        guard case .global(let name) = callable else { return .object("?") }
        let a: [PickleObject]
        if case .tuple(let t) = args { a = t } else { a = [] }
        func ints(_ v: PickleObject) -> [Int]? {
            guard case .tuple(let t) = v else { return nil }
            let values: [Int] = t.compactMap { if case .int(let i) = $0 { i } else { nil } }
            return values.count == t.count ? values : nil
        }
        switch name {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard a.count >= 4, case .int(let offset) = a[1], let shape = ints(a[2]), let strides = ints(a[3]), shape.count == strides.count else {
                throw fail("a tensor with malformed arguments")
            }
            guard case .storage(let s) = a[0] else { return .object("tensor of an unsupported type") }
            return .tensor(TorchCheckpoint.TensorReference(storage: s, offset: offset, shape: shape, strides: strides))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            return a.first ?? .none
        case "collections.OrderedDict", "builtins.dict":
            return .dict(PickleDict())
        default:
            return .object(name)
        }
    }
}
