// Reading and writing the safetensors format (https://huggingface.co/docs/safetensors):
// 8-byte little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then the raw little-endian tensor bytes.
import Foundation
import Torch

/// A problem with a safetensors file, naming the file and what was expected.
public struct SafeTensorsError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public var description: String { "\(path): \(message)" }
}

public enum SafeTensors {
    /// Tensors by name plus the free-form string metadata.
    public struct Contents {
        public var tensors: [String: Tensor]
        public var metadata: [String: String]

        /// The tensors whose names start with `prefix`, named without it (one part of a checkpoint).
        public func tensors(prefixed prefix: String) -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: tensors.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
        }
    }

    /// Header larger than this is refused as corrupt (the reference implementation uses 100 MB).
    static let maximumHeaderSize = 100_000_000

    /// Writes tensors (moved to the CPU) atomically: to a temporary file beside `url`, then renamed,
    /// so an interrupted write never leaves a broken file under `url`.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try OutputFiles.write(encoded(tensors, metadata: metadata), to: url)
    }

    /// The bytes of a safetensors file holding `tensors` (moved to the CPU) and `metadata`.
    public static func encoded(_ tensors: [String: Tensor], metadata: [String: String] = [:]) throws -> Data {
        let names = tensors.keys.sorted()
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var payload: [[UInt8]] = []
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let bytes = try t.bytes()
            header[name] = ["dtype": t.dtype.safetensorsName, "shape": t.shape, "data_offsets": [offset, offset + bytes.count]]
            offset += bytes.count
            payload.append(bytes)
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces so the data starts 8-byte aligned.
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for bytes in payload { data.append(contentsOf: bytes) }
        return data
    }

    /// Reads every tensor onto the CPU, validating the header against the file.
    public static func read(_ url: URL) throws -> Contents {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw SafeTensorsError(path: path, message: "no such file")
        }
        let data = try Data(contentsOf: url, options: .mappedIfSafe)
        return try parse(data, path: path)
    }

    /// Parses the bytes of a safetensors file (`path` names it in errors).
    public static func parse(_ data: Data, path: String) throws -> Contents {
        func fail(_ message: String) -> SafeTensorsError { SafeTensorsError(path: path, message: message) }
        guard data.count >= 8 else { throw fail("not a safetensors file: \(data.count) bytes, expected at least an 8-byte header length") }
        let headerLength = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        guard headerLength <= UInt64(min(maximumHeaderSize, data.count - 8)) else {
            throw fail("header length \(headerLength) exceeds the file (\(data.count) bytes): truncated or not safetensors")
        }
        let headerEnd = 8 + Int(headerLength)
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<headerEnd))
        } catch {
            throw fail("header is not valid JSON")
        }
        guard let header = object as? [String: Any] else { throw fail("header is not a JSON object") }
        let body = data.count - headerEnd
        var metadata: [String: String] = [:]
        var tensors: [String: Tensor] = [:]
        var ranges: [(Int, Int, String)] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
                metadata = m
                continue
            }
            guard let info = value as? [String: Any],
                let dtypeName = info["dtype"] as? String,
                let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                offsets.count == 2, shape.count == (info["shape"] as? [Any])?.count
            else { throw fail("entry '\(name)' needs dtype, shape and data_offsets [begin, end]") }
            guard let dtype = DType(safetensorsName: dtypeName) else {
                throw fail("tensor '\(name)' has dtype \(dtypeName); supported: \(DType.allCases.map(\.safetensorsName).joined(separator: ", "))")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("tensor '\(name)' has a negative dimension in \(shape)") }
            let (begin, end) = (offsets[0], offsets[1])
            // Overflow-checked: a forged shape must not wrap around to a size the data section holds.
            var expected = dtype.byteSize
            for d in shape {
                let (product, overflow) = expected.multipliedReportingOverflow(by: d)
                guard !overflow else {
                    throw fail("tensor '\(name)' of shape \(shape) and dtype \(dtypeName) is larger than any file can hold")
                }
                expected = product
            }
            guard begin >= 0, end >= begin, end <= body else {
                throw fail("tensor '\(name)' spans bytes \(begin)..<\(end) but the data section has \(body) bytes (truncated?)")
            }
            guard end - begin == expected else {
                throw fail("tensor '\(name)' of shape \(shape) and dtype \(dtypeName) needs \(expected) bytes, the header gives \(end - begin)")
            }
            if end > begin { ranges.append((begin, end, name)) }  // empty tensors occupy no bytes
            tensors[name] = try data.withUnsafeBytes { (raw) throws in
                try Tensor.fromBytes(UnsafeRawBufferPointer(rebasing: raw[(headerEnd + begin)..<(headerEnd + end)]), shape: shape, dtype: dtype)
            }
        }
        ranges.sort { $0.0 < $1.0 }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.0 < a.1 {
            throw fail("tensors '\(a.2)' and '\(b.2)' overlap")
        }
        return Contents(tensors: tensors, metadata: metadata)
    }
}

extension ParameterStore {
    /// Saves every parameter and buffer to a safetensors file.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        try SafeTensors.write(snapshot(), metadata: metadata, to: url)
    }

    /// Loads a safetensors file; strict by default (see `load(_:strict:)`).
    public func load(from url: URL, strict: Bool = true) throws {
        let contents = try SafeTensors.read(url)
        do {
            try load(contents.tensors, strict: strict)
        } catch let error as ParameterError {
            throw ParameterError("\(url.path): \(error.message)")
        }
    }
}
