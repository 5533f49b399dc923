// The token file (.mgvt): a video's tokens with everything needed to decode them and to refuse a
// tokenizer that did not make them. Layout (little-endian), documented in docs/token-format.md:
//   0  "MAGVITOK"            magic, 8 bytes
//   8  u16 version (1)       u16 flags (0)
//   12 u32 header length N   16  N bytes of JSON (TokenFile.Header)
//   16+N  ids packed at `bits` bits each, least significant bit first, ⌈count·bits/8⌉ bytes
//   end   u32 CRC-32 (IEEE) of every byte before it
import Foundation
import Tokenizer
import Torch

public struct TokenFileError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct TokenFile: Equatable, Sendable {
    public static let magic = Array("MAGVITOK".utf8)
    public static let version: UInt16 = 1

    /// Which tokenizer made the tokens.
    public struct TokenizerIdentity: Codable, Equatable, Sendable {
        public var name: String
        public var config: TokenizerConfig
        /// VideoTokenizer.weightsHash() of the weights used.
        public var weights: String

        public init(name: String, config: TokenizerConfig, weights: String) {
            (self.name, self.config, self.weights) = (name, config, weights)
        }
    }

    /// One clip of the video, encoded on its own.
    public struct Chunk: Codable, Equatable, Sendable {
        /// Source frames in this clip (the last clip may have been padded to 1 + k·temporalFactor).
        public var frames: Int
        /// Latent frames of the clip.
        public var latentFrames: Int

        public init(frames: Int, latentFrames: Int) {
            (self.frames, self.latentFrames) = (frames, latentFrames)
        }
    }

    /// The video the tokens came from.
    public struct Source: Codable, Equatable, Sendable {
        public var file: String
        public var width: Int
        public var height: Int
        public var frameRateNumerator: Int
        public var frameRateDenominator: Int
        /// The frame size that was tokenized (after resizing and cropping).
        public var tokenizedWidth: Int
        public var tokenizedHeight: Int

        public init(file: String, width: Int, height: Int, frameRateNumerator: Int, frameRateDenominator: Int, tokenizedWidth: Int, tokenizedHeight: Int) {
            (self.file, self.width, self.height) = (file, width, height)
            (self.frameRateNumerator, self.frameRateDenominator) = (frameRateNumerator, frameRateDenominator)
            (self.tokenizedWidth, self.tokenizedHeight) = (tokenizedWidth, tokenizedHeight)
        }
    }

    public struct Header: Codable, Equatable, Sendable {
        public var tokenizer: TokenizerIdentity
        public var bits: Int
        /// Token grid of the whole file: t (all clips' latent frames), h, w.
        public var t: Int
        public var h: Int
        public var w: Int
        public var chunks: [Chunk]
        public var source: Source

        public init(tokenizer: TokenizerIdentity, bits: Int, t: Int, h: Int, w: Int, chunks: [Chunk], source: Source) {
            (self.tokenizer, self.bits, self.t, self.h, self.w, self.chunks, self.source) = (tokenizer, bits, t, h, w, chunks, source)
        }

        /// Limits of what a token file may declare; every size is checked against them before any
        /// product of sizes is taken, so no field value can overflow the arithmetic that follows.
        public static let maxLatentFrames = 1 << 24
        public static let maxGridSide = 1 << 16
        public static let maxFrameSide = 1 << 16
        public static let maxFrameRateTerm = 1_000_000

        /// Checks every field against its range and the fields against each other; the error names the field.
        public func validate() throws {
            func require(_ ok: Bool, _ message: @autoclosure () -> String) throws { if !ok { throw TokenFileError(message()) } }
            try require((1...30).contains(bits), "bits must be 1...30, found \(bits)")
            try require((1...Self.maxLatentFrames).contains(t), "grid t (latent frames) must be 1...\(Self.maxLatentFrames), found \(t)")
            try require((1...Self.maxGridSide).contains(h) && (1...Self.maxGridSide).contains(w),
                        "grid h and w must be 1...\(Self.maxGridSide), found \(h)x\(w)")
            try require(!chunks.isEmpty && chunks.count <= t, "chunks must number 1...t (\(t)), found \(chunks.count)")
            // The config before the chunks: their frame limit multiplies by its temporal factor.
            do { try tokenizer.config.validate() } catch { throw TokenFileError("the tokenizer config in the header is not valid: \(error)") }
            var latent = 0
            for (i, chunk) in chunks.enumerated() {
                try require((1...Self.maxLatentFrames).contains(chunk.latentFrames),
                            "chunk \(i): latentFrames must be 1...\(Self.maxLatentFrames), found \(chunk.latentFrames)")
                let most = 1 + (chunk.latentFrames - 1) * tokenizer.config.temporalFactor
                try require((1...most).contains(chunk.frames), "chunk \(i): frames must be 1...\(most) for \(chunk.latentFrames) latent frames, found \(chunk.frames)")
                latent += chunk.latentFrames  // each term ≤ 2^24 and at most 2^24 terms: no overflow
            }
            try require(latent == t, "chunks add up to \(latent) latent frames, the grid has \(t)")
            let s = source
            for (name, value) in [("width", s.width), ("height", s.height), ("tokenizedWidth", s.tokenizedWidth), ("tokenizedHeight", s.tokenizedHeight)] {
                try require((1...Self.maxFrameSide).contains(value), "source.\(name) must be 1...\(Self.maxFrameSide), found \(value)")
            }
            try require((1...Self.maxFrameRateTerm).contains(s.frameRateNumerator) && (1...Self.maxFrameRateTerm).contains(s.frameRateDenominator),
                        "source frame rate must be N/D with N and D in 1...\(Self.maxFrameRateTerm), found \(s.frameRateNumerator)/\(s.frameRateDenominator)")
            try require(bits == tokenizer.config.quantizer.bits, "bits \(bits) differ from the tokenizer's \(tokenizer.config.quantizer.bits)")
            let factor = tokenizer.config.spatialFactor
            try require(s.tokenizedWidth == w * factor && s.tokenizedHeight == h * factor,
                        "source.tokenized size \(s.tokenizedWidth)x\(s.tokenizedHeight) is not the grid \(w)x\(h) times \(factor)")
        }

        /// Frames and pixels a decode of the file writes.
        public var frames: Int { chunks.reduce(0) { $0 + $1.frames } }
        public var outputPixels: Int {
            let (area, o1) = source.tokenizedWidth.multipliedReportingOverflow(by: source.tokenizedHeight)
            let (pixels, o2) = frames.multipliedReportingOverflow(by: area)
            return o1 || o2 ? Int.max : pixels
        }
    }

    public var header: Header
    /// Ids in (t, h, w) row-major order.
    public var ids: [Int64]

    public init(header: Header, ids: [Int64]) throws {
        try header.validate()
        try self.init(validHeader: header, ids: ids)
    }

    public var frames: Int { header.frames }

    /// With a header already validated: checks the ids against it.
    private init(validHeader h: Header, ids: [Int64]) throws {
        guard ids.count == h.t * h.h * h.w else { throw TokenFileError("\(ids.count) ids for a \(h.t)x\(h.h)x\(h.w) grid") }
        let limit = Int64(1) << h.bits
        if let bad = ids.first(where: { $0 < 0 || $0 >= limit }) { throw TokenFileError("id \(bad) does not fit in \(h.bits) bits") }
        header = h
        self.ids = ids
    }

    // MARK: bytes

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Self.frame(headerJSON: try encoder.encode(header), payload: Self.pack(ids, bits: header.bits))
    }

    /// The file's bytes around a header and a payload (`Framing`). (Also what tools that rewrite a
    /// header, such as the fuzz campaign, frame their output with.)
    public static func frame(headerJSON json: Data, payload: Data, flags: UInt16 = 0) -> Data {
        Framing.frame(magic: magic, version: version, flags: flags, headerJSON: json, payload: payload)
    }

    /// The header JSON and the payload of a file's bytes, unchecked but for the framing's lengths;
    /// nil when those do not fit.
    public static func sections(of data: Data) -> (headerJSON: Data, payload: Data)? { Framing.sections(of: data) }

    public init(decoding data: Data) throws {
        let (json, payload) = try Framing.open(data, magic: Self.magic, version: Self.version, what: "token file", error: TokenFileError.init)
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: json)
        } catch {
            throw TokenFileError("token file header is not valid: \(error)")
        }
        try header.validate()  // ranges first: the products below cannot overflow
        let count = header.t * header.h * header.w
        guard payload.count == (count * header.bits + 7) / 8 else {
            throw TokenFileError("payload of \(payload.count) bytes does not hold \(header.t)x\(header.h)x\(header.w) ids of \(header.bits) bits")
        }
        try self.init(validHeader: header, ids: Self.unpack([UInt8](payload)[...], count: count, bits: header.bits))
    }

    public func write(to url: URL) throws { try OutputFiles.write(try encoded(), to: url) }

    public init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw TokenFileError("\(url.path): no such file") }
        do {
            try self.init(decoding: try Data(contentsOf: url))
        } catch let error as TokenFileError {
            throw TokenFileError("\(url.path): \(error.message)")
        }
    }

    /// Refuses a tokenizer other than the one that made the tokens.
    public func checkMatches(_ model: VideoTokenizer, weightsHash: String) throws { try header.checkMatches(model, weightsHash: weightsHash) }
}

extension TokenFile.Header {
    /// Refuses a tokenizer other than the one that made the tokens.
    public func checkMatches(_ model: VideoTokenizer, weightsHash: String) throws {
        let made = tokenizer
        guard made.config == model.config, made.weights == weightsHash else {
            throw TokenFileError("these tokens were made by tokenizer '\(made.name)' (weights \(made.weights.prefix(12))), not by '\(model.config.name)' (weights \(weightsHash.prefix(12))): decode them with the checkpoint that encoded them")
        }
    }
}

extension TokenFile {

    // MARK: packing

    public static func pack(_ ids: [Int64], bits: Int) -> Data {
        var out = [UInt8](repeating: 0, count: (ids.count * bits + 7) / 8)
        var position = 0
        for id in ids {
            var value = UInt64(id)
            var remaining = bits
            while remaining > 0 {
                let byte = position >> 3, offset = position & 7
                let take = Swift.min(8 - offset, remaining)
                out[byte] |= UInt8(truncatingIfNeeded: (value & ((1 << take) - 1)) << offset)
                value >>= take
                remaining -= take
                position += take
            }
        }
        return Data(out)
    }

    static func unpack(_ bytes: ArraySlice<UInt8>, count: Int, bits: Int) -> [Int64] {
        let base = bytes.startIndex
        var ids = [Int64](repeating: 0, count: count)
        var position = 0
        for i in 0..<count {
            var value: UInt64 = 0
            var filled = 0
            while filled < bits {
                let byte = UInt64(bytes[base + (position >> 3)]), offset = position & 7
                let take = Swift.min(8 - offset, bits - filled)
                value |= ((byte >> UInt64(offset)) & ((1 << UInt64(take)) - 1)) << UInt64(filled)
                filled += take
                position += take
            }
            ids[i] = Int64(value)
        }
        return ids
    }
}
