// Compresses a token file into a stream and back: each clip walks the coding schedule, the steps of
// the sent groups coded under the prior, the rest filled by it. Compression runs the decoder's walk
// (every context holds only what the decoder will know), so it knows the decoded ids and their CRC.
import Codec
import Foundation
import GeneratorModel

/// How far a (de)compression is: clips done of all.
public struct CompressionProgress: Sendable {
    public var clips: Int, total: Int, seconds: Double
}

public enum TokenCompressor {
    /// The most tokens one clip may declare (a 1080p clip of 5 latent frames has 162,000; 8K, 2.6 million).
    public static let maxClipTokens = 1 << 24

    /// Compresses the file's ids under `prior`, sending the first `sentGroups` of `groups`.
    /// Returns the stream and the ids a decoder will produce (equal to the file's when every group is sent).
    public static func compress(_ file: TokenFile, prior: TokenPrior, groups: Int = 4, sentGroups: Int? = nil,
                                progress: ((CompressionProgress) -> Void)? = nil) throws -> (stream: CompressedStream, decoded: [Int64]) {
        let schedule = try CodingSchedule(groups: groups)
        let sent = sentGroups ?? groups
        var coder = EncodingCoder()
        let decoded = try walk(file.header, schedule: schedule, sent: sent, prior: prior, truth: file.ids, coder: &coder, progress: progress)
        let header = CompressedStream.Header(tokens: file.header, prior: prior.identity, groups: groups, sentGroups: sent,
                                             idsCRC: crc32(TokenFile.pack(decoded, bits: file.header.bits)))
        return (try CompressedStream(header: header, payload: coder.encoder.finish()), decoded)
    }

    /// The token file a stream decodes to; `prior` must be the one the header names.
    public static func decompress(_ stream: CompressedStream, prior: TokenPrior,
                                  progress: ((CompressionProgress) -> Void)? = nil) throws -> TokenFile {
        let h = stream.header
        guard prior.identity.sameModel(as: h.prior) else {
            throw CompressionError("this stream was coded with \(h.prior.described), not \(prior.identity.described): decompress it with the entropy model that compressed it")
        }
        var coder = DecodingCoder(stream.payload)
        let ids = try walk(h.tokens, schedule: try CodingSchedule(groups: h.groups), sent: h.sentGroups, prior: prior, truth: nil,
                           coder: &coder, progress: progress)
        guard crc32(TokenFile.pack(ids, bits: h.tokens.bits)) == h.idsCRC else {
            throw CompressionError("the decoded tokens fail the stream's check (CRC of the ids): the stream is damaged, or this machine's entropy model computed different probabilities than the compressing one (another device or thread count; see docs/codec.md)")
        }
        return try TokenFile(header: h.tokens, ids: ids)
    }

    /// The schedule over every clip; with `truth`, encoding it, otherwise decoding.
    static func walk<C: SymbolCoder>(_ h: TokenFile.Header, schedule: CodingSchedule, sent: Int, prior: TokenPrior, truth: [Int64]?,
                                     coder: inout C, progress: ((CompressionProgress) -> Void)?) throws -> [Int64] {
        let perFrame = h.h * h.w
        var ids = [Int64]()
        var offset = 0
        let start = Date()
        for (index, chunk) in h.chunks.enumerated() {
            let (count, overflow) = chunk.latentFrames.multipliedReportingOverflow(by: perFrame)
            guard !overflow, count <= maxClipTokens else {
                throw CompressionError("clip \(index) declares \(chunk.latentFrames)x\(h.h)x\(h.w) tokens, more than the \(maxClipTokens) a clip may have")
            }
            var clip = ClipIds(t: chunk.latentFrames, h: h.h, w: h.w)
            for step in schedule.steps(t: clip.t, h: clip.h, w: clip.w) {
                if step.group < sent {
                    let values = truth.map { t in step.positions.map { Int(t[offset + $0]) } } ?? [Int](repeating: 0, count: step.positions.count)
                    try prior.code(&clip, positions: step.positions, values: values, coder: &coder)
                } else {
                    try prior.fill(&clip, positions: step.positions)
                }
            }
            ids += clip.ids.map(Int64.init)
            offset += count
            progress?(CompressionProgress(clips: index + 1, total: h.chunks.count, seconds: Date().timeIntervalSince(start)))
        }
        return ids
    }
}
