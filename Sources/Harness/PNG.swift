// A PNG encoder for 8-bit RGB images (ISO/IEC 15948: signature, IHDR, one zlib IDAT, IEND; filter
// type 0 on every row), used for sample grids and TensorBoard image summaries.
import CZlib
import Foundation
import NN
import Torch

public enum PNG {
    /// Encodes an image (H, W, 3) with values in [0, 1] (clamped, rounded to 8 bits).
    public static func encode(_ image: Tensor) throws -> Data {
        guard image.rank == 3, image.size(2) == 3 else {
            throw ConfigError("a PNG image must be (height, width, 3), got \(image.shape)")
        }
        let (height, width) = (image.size(0), image.size(1))
        let bytes = try (image.to(.float32, .cpu).clamp(min: 0, max: 1) * 255).round().to(.uint8).contiguous().toArray(UInt8.self)
        var raw = [UInt8]()
        raw.reserveCapacity(height * (width * 3 + 1))
        for row in 0..<height {
            raw.append(0)  // filter: none
            raw.append(contentsOf: bytes[(row * width * 3)..<((row + 1) * width * 3)])
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = Data()
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header.append(contentsOf: [8, 2, 0, 0, 0])  // 8 bits, RGB, deflate, no filter set, no interlace
        append(chunk: "IHDR", header, to: &png)
        append(chunk: "IDAT", try deflate(raw), to: &png)
        append(chunk: "IEND", Data(), to: &png)
        return png
    }

    /// Encodes `image` and writes it atomically to `url`.
    public static func write(_ image: Tensor, to url: URL) throws {
        try OutputFiles.write(encode(image), to: url)
    }

    static func deflate(_ bytes: [UInt8]) throws -> Data {
        var size = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = compress2(&out, &size, bytes, uLong(bytes.count), 6)
        guard status == Z_OK else { throw ConfigError("zlib compress2 failed with status \(status)") }
        return Data(out.prefix(Int(size)))
    }

    static func append(chunk type: String, _ payload: Data, to png: inout Data) {
        png.appendBigEndian(UInt32(payload.count))
        let typed = Data(type.utf8) + payload
        png.append(typed)
        let crc = typed.withUnsafeBytes { crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count)) }
        png.appendBigEndian(UInt32(crc))
    }
}

extension Data {
    mutating func appendBigEndian(_ value: UInt32) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }
}
