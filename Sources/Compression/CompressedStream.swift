// The compressed stream (.mgvc): a video's tokens entropy-coded under a prior, with everything needed
// to decode them and to refuse models that did not make them. Framing as the token file's (`Framing`,
// magic "MAGVITCS"); the header is JSON (`Header`) deflated with zlib (1.3 KB of JSON become about
// 600 bytes, a tenth of a low-rate stream), the payload one range-coded stream over every clip in
// order. Documented in docs/codec.md.
import Codec
import CZlib
import Foundation
import GeneratorModel
import Torch

public struct CompressedStream: Sendable, Equatable {
    public static let magic = Array("MAGVITCS".utf8)
    public static let version: UInt16 = 1

    public struct Header: Codable, Equatable, Sendable {
        /// The grid, the clips, the source and the tokenizer's identity: the token file's header.
        public var tokens: TokenFile.Header
        /// The entropy model (or the adaptive baseline) the ids were coded under.
        public var prior: PriorIdentity
        /// The coding schedule's groups, and how many of them the stream carries (the rest the
        /// decoder fills with the prior's most probable ids).
        public var groups: Int
        public var sentGroups: Int
        /// CRC-32 of the decoded ids, packed as in a token file: a decoder whose model computes
        /// different probabilities (another device or thread count) finds out here.
        public var idsCRC: UInt32

        public func validate() throws {
            func require(_ ok: Bool, _ message: @autoclosure () -> String) throws { if !ok { throw CompressionError(message()) } }
            do { try tokens.validate() } catch let e as TokenFileError { throw CompressionError("tokens: \(e.message)") }
            try require(CodingSchedule.allowedGroups.contains(groups), "groups must be one of \(CodingSchedule.allowedGroups), found \(groups)")
            try require((1...groups).contains(sentGroups), "sentGroups must be 1...\(groups), found \(sentGroups)")
            let bits = prior.factorBits
            try require(!bits.isEmpty && bits.count <= 30 && bits.allSatisfy { (1...16).contains($0) } && (try? Checked.sum(bits, "factorBits")) == tokens.bits,
                        "prior.factorBits must be 1...16 each and add up to the tokens' \(tokens.bits) bits, found \(bits)")
            switch prior.kind {
            case PriorIdentity.adaptiveKind:
                try require(bits == AdaptivePrior.factorBits(forBits: tokens.bits),
                            "the adaptive prior splits \(tokens.bits) bits as \(AdaptivePrior.factorBits(forBits: tokens.bits)), found \(bits)")
                try require(sentGroups == groups, "an adaptive stream carries every group (sentGroups \(sentGroups) of \(groups))")
            case PriorIdentity.maskedKind:
                try require(prior.name != nil && prior.weights != nil, "a masked-transformer prior needs its name and weights hash")
            default:
                try require(Priors.isModelFree(prior.kind),
                            "prior.kind must be '\(PriorIdentity.maskedKind)' or one of \(Priors.kinds.map { "'\($0)'" }.joined(separator: ", ")), found '\(prior.kind)'")
            }
        }
    }

    public var header: Header
    public var payload: [UInt8]

    public init(header: Header, payload: [UInt8]) throws {
        try header.validate()
        (self.header, self.payload) = (header, payload)
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Self.frame(headerJSON: try encoder.encode(header), payload: Data(payload))
    }

    /// A stream's bytes around a header's JSON (deflated here) and a payload. (Also what the fuzz
    /// campaign frames an edited header with.)
    public static func frame(headerJSON json: Data, payload: Data) -> Data {
        Framing.frame(magic: magic, version: version, flags: 0, headerJSON: deflate(json), payload: payload)
    }

    /// The header JSON of a stream's bytes, checked but for the header's content.
    public static func headerJSON(of data: Data) throws -> (json: Data, payload: Data) {
        let (packed, payload) = try Framing.open(data, magic: magic, version: version, what: "compressed stream", error: CompressionError.init)
        return (try inflate(packed), payload)
    }

    /// The most a header may inflate to.
    static let maxHeaderBytes = 1 << 20

    static func deflate(_ data: Data) -> Data {
        var out = [UInt8](repeating: 0, count: Int(compressBound(uLong(data.count))))
        var length = uLong(out.count)
        let status = data.withUnsafeBytes { compress2(&out, &length, $0.bindMemory(to: Bytef.self).baseAddress, uLong(data.count), 9) }
        precondition(status == Z_OK, "zlib compress2 failed (\(status))")  // only on a too small buffer, which compressBound rules out
        return Data(out.prefix(Int(length)))
    }

    static func inflate(_ data: Data) throws -> Data {
        var out = [UInt8](repeating: 0, count: maxHeaderBytes)
        var length = uLong(out.count)
        let status = data.withUnsafeBytes { uncompress(&out, &length, $0.bindMemory(to: Bytef.self).baseAddress, uLong(data.count)) }
        switch status {
        case Z_OK: return Data(out.prefix(Int(length)))
        case Z_BUF_ERROR where data.count > 0: throw CompressionError("compressed stream header inflates past \(maxHeaderBytes) bytes or is cut short")
        default: throw CompressionError("compressed stream header is not valid zlib data (error \(status))")
        }
    }

    public init(decoding data: Data) throws {
        let (json, payload) = try Self.headerJSON(of: data)
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: json)
        } catch {
            throw CompressionError("compressed stream header is not valid: \(error)")
        }
        try self.init(header: header, payload: [UInt8](payload))
    }

    /// Payload bits per token (the header not counted).
    public var bitsPerToken: Double {
        Double(payload.count * 8) / Double(header.tokens.t * header.tokens.h * header.tokens.w)
    }

    /// Bits per pixel of the video the stream was made from: the whole file's bits over frames × the
    /// source's width × height. A clip coded at a lower size (`--size`, the half-size quality levels)
    /// still stands for the source's pixels, as codec studies count them (`magvit-bench rd-study`).
    public func bitsPerPixel(fileBytes: Int) -> Double {
        let source = header.tokens.source
        return Double(fileBytes * 8) / (Double(header.tokens.frames) * Double(source.width) * Double(source.height))
    }

    /// Bits per pixel of the size the clip was coded at (what a decode writes unless scaled).
    public func codedBitsPerPixel(fileBytes: Int) -> Double {
        Double(fileBytes * 8) / Double(header.tokens.outputPixels)
    }

    public init(contentsOf url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw CompressionError("\(url.path): no such file") }
        do {
            try self.init(decoding: try Data(contentsOf: url))
        } catch let error as CompressionError {
            throw CompressionError("\(url.path): \(error.description)")
        }
    }
}
