// TensorBoard event files (events.out.tfevents.*), written without TensorFlow: TFRecord framing
// (length, masked CRC-32C of the length, payload, masked CRC-32C of the payload) around `Event`
// protocol buffers (tensorflow/core/util/event.proto) holding scalar and image summaries. A reader
// for the same framing checks files back (tests, `magvit` has no other use for it).
import Foundation
import Torch

/// Appends scalars and images to one event file in a run folder, as `tensorboard --logdir` reads them.
public final class TensorBoardWriter {
    public let url: URL
    private let handle: FileHandle

    /// Creates `events.out.tfevents.<time>.<host>.<pid>` in `directory` and writes the version record.
    public init(directory: URL) throws {
        let time = Int(Date().timeIntervalSince1970)
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "localhost"
        url = directory.appendingPathComponent("events.out.tfevents.\(time).\(host).\(getpid()).magvit")
        handle = FileHandle(fileDescriptor: try OutputFiles.openInPlace(url.path, flags: O_WRONLY | O_CREAT | O_TRUNC, what: "TensorBoard event file"),
                            closeOnDealloc: true)
        var event = Protobuf()
        event.double(1, Date().timeIntervalSince1970)
        event.string(3, "brain.Event:2")  // file_version
        try append(event.bytes)
    }

    deinit { try? handle.close() }

    /// Scalars at one step, tagged by name (a "/" groups them in TensorBoard's panels).
    public func scalars(_ values: [String: Double], step: Int) throws {
        guard !values.isEmpty else { return }
        var summary = Protobuf()
        for (tag, value) in values.sorted(by: { $0.key < $1.key }) where value.isFinite {
            var v = Protobuf()
            v.string(1, tag)
            v.float(2, Float(value))  // simple_value
            summary.message(1, v)
        }
        try write(summary: summary, step: step)
    }

    /// A PNG image at one step.
    public func image(_ tag: String, png: Data, width: Int, height: Int, step: Int) throws {
        var image = Protobuf()
        image.varint(1, UInt64(height))
        image.varint(2, UInt64(width))
        image.varint(3, 3)  // colorspace: RGB
        image.bytes(4, png)
        var value = Protobuf()
        value.string(1, tag)
        value.message(4, image)
        var summary = Protobuf()
        summary.message(1, value)
        try write(summary: summary, step: step)
    }

    private func write(summary: Protobuf, step: Int) throws {
        var event = Protobuf()
        event.double(1, Date().timeIntervalSince1970)
        event.varint(2, UInt64(bitPattern: Int64(step)))
        event.message(5, summary)
        try append(event.bytes)
    }

    private func append(_ payload: Data) throws {
        try handle.write(contentsOf: TFRecord.frame(payload))
    }
}

/// The TFRecord framing and its masked CRC-32C (Castagnoli).
public enum TFRecord {
    public static func frame(_ payload: Data) -> Data {
        var length = Data()
        withUnsafeBytes(of: UInt64(payload.count).littleEndian) { length.append(contentsOf: $0) }
        var record = length
        withUnsafeBytes(of: maskedCRC(length).littleEndian) { record.append(contentsOf: $0) }
        record.append(payload)
        withUnsafeBytes(of: maskedCRC(payload).littleEndian) { record.append(contentsOf: $0) }
        return record
    }

    /// The payloads of every record in `data`; a bad length or checksum is an error naming the record.
    public static func records(_ data: Data) throws -> [Data] {
        var records: [Data] = [], offset = data.startIndex
        while offset < data.endIndex {
            guard data.endIndex - offset >= 12 else { throw ConfigError("record \(records.count): truncated header") }
            let lengthBytes = data[offset..<(offset + 8)]
            let length = lengthBytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
            let lengthCRC = data[(offset + 8)..<(offset + 12)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian }
            guard lengthCRC == maskedCRC(Data(lengthBytes)) else { throw ConfigError("record \(records.count): length checksum mismatch") }
            guard length <= UInt64(data.endIndex - offset - 16) else { throw ConfigError("record \(records.count): truncated payload") }
            let start = offset + 12, end = start + Int(length)
            let payload = Data(data[start..<end])
            let crc = data[end..<(end + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian }
            guard crc == maskedCRC(payload) else { throw ConfigError("record \(records.count): payload checksum mismatch") }
            records.append(payload)
            offset = end + 4
        }
        return records
    }

    static func maskedCRC(_ data: Data) -> UInt32 {
        let crc = crc32c(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    private static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    static func crc32c(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// Just enough of the protocol-buffer wire format to write events.
struct Protobuf {
    private(set) var bytes = Data()

    mutating func varint(_ field: Int, _ value: UInt64) {
        key(field, wire: 0)
        raw(value)
    }

    mutating func double(_ field: Int, _ value: Double) {
        key(field, wire: 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func float(_ field: Int, _ value: Float) {
        key(field, wire: 5)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func bytes(_ field: Int, _ value: Data) {
        key(field, wire: 2)
        raw(UInt64(value.count))
        bytes.append(value)
    }

    mutating func string(_ field: Int, _ value: String) { bytes(field, Data(value.utf8)) }
    mutating func message(_ field: Int, _ value: Protobuf) { bytes(field, value.bytes) }

    private mutating func key(_ field: Int, wire: UInt64) { raw(UInt64(field) << 3 | wire) }

    private mutating func raw(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
}

/// Reads the scalar summaries back from an event file: (tag, step, value) in file order.
public enum TensorBoardReader {
    public static func scalars(_ url: URL) throws -> [(tag: String, step: Int, value: Double)] {
        var result: [(tag: String, step: Int, value: Double)] = []
        for record in try TFRecord.records(Data(contentsOf: url)) {
            let event = try ProtobufFields(record)
            guard let summary = event.messages(5).first else { continue }
            let step = Int(Int64(bitPattern: event.varints(2).first ?? 0))
            for value in try ProtobufFields(summary).messages(1) {
                let v = try ProtobufFields(value)
                guard let tag = v.messages(1).first, let bits = v.fixed32(2).first else { continue }
                result.append((String(decoding: tag, as: UTF8.self), step, Double(Float(bitPattern: bits))))
            }
        }
        return result
    }
}

/// The fields of one protocol-buffer message by number.
struct ProtobufFields {
    private var values: [Int: [Any]] = [:]

    init(_ data: Data) throws {
        var i = data.startIndex
        func varint() throws -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard i < data.endIndex, shift < 64 else { throw ConfigError("malformed protocol buffer") }
                let byte = data[i]
                i += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
        }
        func take(_ n: Int) throws -> Data {
            guard n >= 0, data.endIndex - i >= n else { throw ConfigError("malformed protocol buffer") }
            defer { i += n }
            return Data(data[i..<(i + n)])
        }
        while i < data.endIndex {
            let key = try varint()
            let field = Int(key >> 3)
            switch key & 7 {
            case 0: values[field, default: []].append(try varint())
            case 1: values[field, default: []].append(try take(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
            case 2: values[field, default: []].append(try take(Int(clamping: try varint())))
            case 5: values[field, default: []].append(try take(4).withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian })
            default: throw ConfigError("malformed protocol buffer: wire type \(key & 7)")
            }
        }
    }

    func varints(_ field: Int) -> [UInt64] { values[field]?.compactMap { $0 as? UInt64 } ?? [] }
    func fixed32(_ field: Int) -> [UInt32] { values[field]?.compactMap { $0 as? UInt32 } ?? [] }
    func messages(_ field: Int) -> [Data] { values[field]?.compactMap { $0 as? Data } ?? [] }
}
