// The framing shared by Magvit's binary files (token files, compressed streams): an 8-byte magic,
// u16 version, u16 flags, u32 header length N, N bytes of JSON header, a payload, and a CRC-32 of
// every byte before it; all little-endian. Readers refuse a wrong magic, version or flags and a failed
// checksum before they look at the header.
import Foundation

public enum Framing {
    /// The bytes of a file around its header and payload.
    public static func frame(magic: [UInt8], version: UInt16, flags: UInt16, headerJSON json: Data, payload: Data) -> Data {
        var data = Data(magic)
        append(&data, version)
        append(&data, flags)
        append(&data, UInt32(json.count))
        data.append(json)
        data.append(payload)
        append(&data, crc32(data))
        return data
    }

    /// The header JSON and payload, unchecked but for the lengths (nil when those do not fit).
    public static func sections(of data: Data) -> (headerJSON: Data, payload: Data)? {
        guard data.count >= 20 else { return nil }
        let bytes = [UInt8](data.prefix(16))
        let length = Int(read32(bytes, 12))
        guard length <= data.count - 20 else { return nil }
        let start = data.startIndex
        return (data.subdata(in: (start + 16)..<(start + 16 + length)), data.subdata(in: (start + 16 + length)..<(data.endIndex - 4)))
    }

    /// Checks the framing of a file of kind `what` ("token file") and returns its header JSON and
    /// payload; `error` makes the kind's error type from a message.
    public static func open<E: Error>(_ data: Data, magic: [UInt8], version: UInt16, what: String,
                                      error: (String) -> E) throws -> (headerJSON: Data, payload: Data) {
        guard data.count >= 20 else { throw error("not a \(what): \(data.count) bytes, expected at least 20") }
        let bytes = [UInt8](data.prefix(16))
        guard Array(bytes[0..<8]) == magic else { throw error("not a \(what): it does not start with \(String(decoding: magic, as: UTF8.self))") }
        let found = read16(bytes, 8)
        guard found == version else { throw error("\(what) version \(found) is not supported (this build reads version \(version))") }
        let flags = read16(bytes, 10)
        guard flags == 0 else { throw error("\(what) flags 0x\(String(flags, radix: 16)) are not known to this build (expected 0)") }
        let tail = [UInt8](data.suffix(4))
        guard crc32(data.prefix(data.count - 4)) == read32(tail, 0) else { throw error("\(what) is corrupt or truncated (checksum mismatch)") }
        guard let parts = sections(of: data) else { throw error("header length \(read32(bytes, 12)) exceeds the file") }
        return parts
    }
}

private func append<T: FixedWidthInteger>(_ data: inout Data, _ value: T) {
    withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
}

func read16(_ b: [UInt8], _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
func read32(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
}

/// CRC-32 (IEEE 802.3, reflected, as zlib's crc32).
public func crc32(_ data: Data) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in data {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
}
