// The pickle inside a PyTorch checkpoint (`data.pkl`): a small pickle machine that rebuilds dicts,
// lists and tuples and turns `torch._utils._rebuild_tensor_v2` into a reference to its storage; any
// other class is kept as an opaque object, so optimizer states and hyper-parameters of arbitrary types
// are read past.
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

/// The pickle opcodes `torch.save` writes (protocol 2, and the few of later protocols Python's
/// pickle may add), over the values above.
struct Unpickler {
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
