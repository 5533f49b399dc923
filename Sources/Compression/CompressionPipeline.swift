// The one way from a video (or its tokens) to a compressed stream and back, shared by `magvit compress`,
// `magvit decompress` and `magvit-bench rd-study`: the entropy model picked by one rule (`PriorChoice`),
// the clip read at the operating point's scale, its tokens coded under the prior in the point's groups,
// and a stream refused when another tokenizer made it. The tool and the study only ask; the choices
// (which prior, which size, which groups) and the rate of the result are made and counted here.
import Codec
import Foundation
import Media
import Torch

/// Which entropy model codes a stream.
public enum PriorChoice: Equatable, Sendable {
    /// Adaptive frequencies, no model.
    case baseline
    /// A generator file (`magvit train-generator`); refused when it models another tokenizer's tokens.
    case file(URL)
    /// The shipped codec prior when it was trained on this tokenizer's tokens, otherwise the baseline.
    case shipped
    /// A prior without a model file, by kind (`Priors`): `adaptive` is the baseline.
    case named(String)

    /// Where the shipped prior lives: $MAGVIT_PRIOR, else default-codec-prior.safetensors beside the
    /// default tokenizer.
    public static var shippedPrior: URL {
        if let path = ProcessInfo.processInfo.environment["MAGVIT_PRIOR"] { return URL(fileURLWithPath: path) }
        return ShippedResources.defaultTokenizer.deletingLastPathComponent().appendingPathComponent("default-codec-prior.safetensors")
    }

    /// The prior of a tokenizer's `bits`-bit tokens. `recorded` is the prior a stream names, which
    /// decides for a decoder: a baseline stream decodes with the baseline, and a model's stream with
    /// the shipped prior only when that is the model (otherwise `PriorNotNamed`).
    public func prior(tokenizerWeights: String, bits: Int, device: Device = .cpu, recorded: PriorIdentity? = nil) throws -> TokenPrior {
        if let recorded, recorded.kind != PriorIdentity.maskedKind {
            guard case .file(let url) = self else { return try Priors.make(recorded.kind, bits: bits) }
            throw CompressionError("this stream was coded with the \(recorded.kind) prior, not with a model: decompress it without \(url.lastPathComponent)")
        }
        switch self {
        case .baseline:
            return AdaptivePrior(bits: bits)
        case .named(let kind):
            return try Priors.make(kind, bits: bits)
        case .file(let url):
            return try MaskedPrior(contentsOf: url, tokenizerWeights: tokenizerWeights, bits: bits, device: device)
        case .shipped:
            // A shipped prior of another tokenizer is passed over (the baseline codes instead); a broken one is an error.
            let url = Self.shippedPrior
            if FileManager.default.fileExists(atPath: url.path),
               let shipped = try MaskedPrior.ifTrained(on: tokenizerWeights, bits: bits, at: url, device: device) {
                return shipped
            }
            if let recorded { throw PriorNotNamed(recorded: recorded) }
            return AdaptivePrior(bits: bits)
        }
    }
}

/// A stream coded with a model that the choice does not name (the shipped prior is another, or absent).
public struct PriorNotNamed: Error, CustomStringConvertible {
    public let recorded: PriorIdentity
    public var description: String { "this stream was coded with \(recorded.described)" }
}

/// A compressed video: the stream, its bytes and what they cost.
public struct CompressedVideo {
    /// The tokens that were coded, and the ids a decoder will produce from the stream (the same when
    /// every group is sent; the prior's guesses fill the groups not sent).
    public let tokens: TokenFile
    public let decoded: [Int64]
    public let stream: CompressedStream
    /// The file's bytes (`CompressedStream.encoded`).
    public let data: Data

    /// Bits per pixel of the video the tokens were made from (the whole file, over the source's pixels).
    public var bitsPerPixel: Double { stream.bitsPerPixel(fileBytes: data.count) }
    /// Payload bits per token.
    public var bitsPerToken: Double { stream.bitsPerToken }
    /// How many of the ids decode as they were encoded.
    public var tokensDecodedAsEncoded: Int { zip(decoded, tokens.ids).filter { $0 == $1 }.count }
}

/// A tokenizer and a prior: videos to streams at an operating point, and streams back to tokens.
public final class CompressionPipeline {
    public let codec: VideoCodec
    /// The prior a stream of this pipeline records.
    public let identity: PriorIdentity
    /// The model, or nil for a prior without one (`Priors`), which starts afresh for every stream
    /// (an adaptive prior that has coded one stream would code the next one differently).
    let model: MaskedPrior?
    let bits: Int

    /// Codes under `model`, or under the adaptive baseline when nil.
    public convenience init(codec: VideoCodec, model: MaskedPrior?) {
        self.init(codec: codec, model: model, identity: model?.identity ?? AdaptivePrior(bits: codec.model.config.quantizer.bits).identity)
    }

    init(codec: VideoCodec, model: MaskedPrior?, identity: PriorIdentity) {
        self.codec = codec
        self.model = model
        self.identity = identity
        bits = codec.model.config.quantizer.bits
    }

    /// Codes under the prior `choice` picks for this tokenizer; `recorded`, a stream's prior, as in `PriorChoice.prior`.
    public convenience init(codec: VideoCodec, prior choice: PriorChoice, device: Device = .cpu, recorded: PriorIdentity? = nil) throws {
        let prior = try choice.prior(tokenizerWeights: codec.weightsHash, bits: codec.model.config.quantizer.bits, device: device, recorded: recorded)
        self.init(codec: codec, model: prior as? MaskedPrior, identity: prior.identity)
    }

    /// The pipeline that decodes `stream`: refused when another tokenizer made its tokens (before any
    /// prior is loaded), its prior picked by `choice` and the prior the stream records.
    public convenience init(codec: VideoCodec, decoding stream: CompressedStream, prior choice: PriorChoice, device: Device = .cpu) throws {
        try stream.header.tokens.checkMatches(codec.model, weightsHash: codec.weightsHash)
        try self.init(codec: codec, prior: choice, device: device, recorded: stream.header.prior)
    }

    /// The prior for one stream.
    func prior() throws -> TokenPrior { try model ?? Priors.make(identity.kind, bits: bits) }

    /// The tokens of a video at `point`: below full scale the clip is read at the point's coded size
    /// (stretched, not cropped, so it stands for the whole picture), which replaces `options.size`.
    public func tokens(ofVideo path: String, options: ReadOptions = ReadOptions(), at point: OperatingPoint,
                       progress: ((JobProgress) -> Void)? = nil) throws -> TokenFile {
        var options = options
        if point.scale < 1 {
            let info = try VideoInfo(probing: path)
            options.size = point.codedSize(width: info.width, height: info.height, factor: codec.model.config.spatialFactor)
            options.centerCrop = false
        }
        return try codec.encode(path: path, options: options, progress: progress)
    }

    /// A token file of this tokenizer coded in `point`'s groups, the first `point.keep` sent (the
    /// point's scale is the reading's, `tokens(ofVideo:at:)`; tokens are coded at the size they have).
    public func compress(_ tokens: TokenFile, at point: OperatingPoint, progress: ((CompressionProgress) -> Void)? = nil) throws -> CompressedVideo {
        try tokens.checkMatches(codec.model, weightsHash: codec.weightsHash)
        let (stream, decoded) = try TokenCompressor.compress(tokens, prior: prior(), groups: point.groups, sentGroups: point.keep, progress: progress)
        return CompressedVideo(tokens: tokens, decoded: decoded, stream: stream, data: try stream.encoded())
    }

    /// The token file a stream decodes to.
    public func decompress(_ stream: CompressedStream, progress: ((CompressionProgress) -> Void)? = nil) throws -> TokenFile {
        try stream.header.tokens.checkMatches(codec.model, weightsHash: codec.weightsHash)
        return try TokenCompressor.decompress(stream, prior: prior(), progress: progress)
    }
}
