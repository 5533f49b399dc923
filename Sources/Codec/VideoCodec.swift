// Streams a video through a tokenizer clip by clip: encode a file into a token file, decode a token
// file into a video, or reconstruct side by side with PSNR and SSIM. A long video is never held in
// memory: one clip of the tokenizer's length (4k+1 frames) at a time.
import Foundation
import Media
import Metrics
import Tokenizer
import Torch

/// Progress of a streaming job, for a progress bar.
public struct JobProgress: Sendable {
    public var frames: Int
    /// Total frames when the container says, nil otherwise.
    public var total: Int?
    public var seconds: Double
    public var framesPerSecond: Double { seconds > 0 ? Double(frames) / seconds : 0 }

    public init(frames: Int, total: Int?, seconds: Double) {
        self.frames = frames
        self.total = total
        self.seconds = seconds
    }
}

/// Per-frame fidelity of a reconstruction.
public struct ReconstructionReport: Sendable {
    public var frames = 0
    public var psnr: [Double] = []
    public var ssim: [Double] = []
    /// Empty when frames are 160 pixels or smaller on a side (too small for five scales).
    public var msssim: [Double] = []
    /// Occurrences of each code over every recorded token.
    public var codeCounts: Tensor?
    /// PSNR and SSIM per frame of the block-mean codec at the tokenizer's bits (`BlockMeanCodec`),
    /// when recorded: the floor the tokenizer's own scores are read against.
    public var floorPSNR: [Double] = []
    public var floorSSIM: [Double] = []

    public init() {}

    /// Scores decoded frames (T, H, W, 3) in [0, 1] against the originals as a viewer sees them:
    /// both quantized to 8 bits.
    public mutating func record(original: Tensor, decoded: Tensor) throws {
        let (a, b) = (try Self.eightBit(original), try Self.eightBit(decoded))
        psnr += try Fidelity.psnr(b, a)
        ssim += try Fidelity.ssim(b, a)
        if Swift.min(a.size(1), a.size(2)) > 160 { msssim += try Fidelity.msssim(b, a) }
        frames += a.size(0)
    }

    /// Scores the block-mean codec's frames against the originals, as `record(original:decoded:)` does.
    public mutating func record(original: Tensor, floor: Tensor) throws {
        let (a, b) = (try Self.eightBit(original), try Self.eightBit(floor))
        floorPSNR += try Fidelity.psnr(b, a)
        floorSSIM += try Fidelity.ssim(b, a)
    }

    /// Frames on the CPU at the 8-bit levels a viewer sees.
    static func eightBit(_ frames: Tensor) throws -> Tensor { try (frames.to(.cpu) * 255).round() / 255 }

    /// Counts the codes of a batch of token ids.
    public mutating func record(tokens: Tensor, codebookSize: Int) throws {
        let counts = try tokens.flatten().to(.cpu).bincount(minLength: codebookSize)
        codeCounts = try codeCounts.map { try $0 + counts } ?? counts
    }

    /// Distinct codes and perplexity over every recorded token.
    public func usage() throws -> CodebookUsage? { try codeCounts.map { try CodebookUsage(counts: $0) } }
    /// Mean PSNR over frames, infinite frames (identical) counted at 100 dB.
    public var meanPSNR: Double { psnr.map { Swift.min($0, 100) }.reduce(0, +) / Double(Swift.max(psnr.count, 1)) }
    public var meanSSIM: Double { ssim.reduce(0, +) / Double(Swift.max(ssim.count, 1)) }
    public var meanMSSSIM: Double? { msssim.isEmpty ? nil : msssim.reduce(0, +) / Double(msssim.count) }
    public var meanFloorPSNR: Double? { floorPSNR.isEmpty ? nil : floorPSNR.map { Swift.min($0, 100) }.reduce(0, +) / Double(floorPSNR.count) }
    public var meanFloorSSIM: Double? { floorSSIM.isEmpty ? nil : floorSSIM.reduce(0, +) / Double(floorSSIM.count) }
}

public final class VideoCodec {
    public let model: VideoTokenizer
    public let weightsHash: String
    public let name: String
    /// Where warnings go (damage the decoder concealed): standard error by default.
    public var warn: (String) -> Void = { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) }

    public init(model: VideoTokenizer, name: String? = nil) throws {
        self.model = model
        weightsHash = try model.weightsHash()
        self.name = name ?? model.config.name
    }

    /// Frames per clip: the tokenizer's training clip length (1 for image tokenizers).
    public var clipFrames: Int { model.config.clipFrames }

    /// The frame size used for a source: the requested size, or the source's rounded down to a
    /// multiple of the tokenizer's spatial factor (cropping the centre).
    public func frameSize(for info: VideoInfo, requested: (width: Int, height: Int)?) throws -> (width: Int, height: Int) {
        try Self.frameSize(for: info, requested: requested, config: model.config)
    }

    /// The same for a tokenizer of `config` (`eval recon` sizes each video as `reconstruct` does).
    public static func frameSize(for info: VideoInfo, requested: (width: Int, height: Int)?, config: TokenizerConfig) throws -> (width: Int, height: Int) {
        let f = config.spatialFactor
        let size = requested ?? (info.width / f * f, info.height / f * f)
        guard size.width >= f, size.height >= f, size.width % f == 0, size.height % f == 0 else {
            throw TokenizerError.invalidInput("frame size \(size.width)x\(size.height) must be a positive multiple of \(f) (\(config.name))")
        }
        return size
    }

    /// Clips of the tokenizer's length; the last one is padded with its last frame up to a length the
    /// tokenizer takes. Calls `body` with the clip (1, 3, T, H, W) in [-1, 1] and its real frame count.
    func forEachClip(_ reader: VideoReader, _ body: (Tensor, Int) throws -> Void) throws {
        let factor = model.config.temporalFactor
        while let frames = try reader.read(clipFrames) {
            let count = frames.size(0)
            var clip = frames
            let valid = 1 + ((count - 1 + factor - 1) / factor) * factor
            if valid > count {
                let last = try frames.narrow(0, start: count - 1, length: 1).expand([valid - count, -1, -1, -1])
                clip = try concatenate([frames, last], dim: 0)
            }
            try body(try modelInput(clip), count)
        }
        try reader.checkComplete()
        if !reader.warnings.isEmpty {
            warn("\(reader.path): the decoder reported \(reader.warnings.count) error(s) and concealed them (\(reader.warnings.suffix(1).joined())); pass --strict to refuse damaged files")
        }
    }

    /// Encodes a video (or image) file into tokens, clip by clip.
    public func encode(path: String, options: ReadOptions = ReadOptions(), progress: ((JobProgress) -> Void)? = nil) throws -> TokenFile {
        let info = try VideoInfo(probing: path)
        var readOptions = options
        readOptions.size = try frameSize(for: info, requested: options.size)
        let reader = try VideoReader(path: path, options: readOptions)
        var ids: [Int64] = []
        var chunks: [TokenFile.Chunk] = []
        var grid = (h: 0, w: 0)
        let start = Date()
        var done = 0
        try forEachClip(reader) { clip, count in
            let tokens = try model.encode(clip)  // (1, t, h, w)
            ids += try tokens.toArray(Int64.self)
            chunks.append(.init(frames: count, latentFrames: tokens.size(1)))
            grid = (tokens.size(2), tokens.size(3))
            done += count
            progress?(JobProgress(frames: done, total: expectedFrames(info, options), seconds: Date().timeIntervalSince(start)))
        }
        guard !chunks.isEmpty else { throw TokenizerError.invalidInput("\(path): no frames decoded") }
        let source = TokenFile.Source(
            file: URL(fileURLWithPath: path).lastPathComponent, width: info.width, height: info.height,
            frameRateNumerator: info.frameRateNumerator, frameRateDenominator: info.frameRateDenominator,
            tokenizedWidth: reader.width, tokenizedHeight: reader.height)
        let header = TokenFile.Header(
            tokenizer: .init(name: name, config: model.config, weights: weightsHash), bits: model.config.quantizer.bits,
            t: chunks.reduce(0) { $0 + $1.latentFrames }, h: grid.h, w: grid.w, chunks: chunks, source: source)
        return try TokenFile(header: header, ids: ids)
    }

    /// Decodes a token file into a video file (mp4, gif, mkv, y4m or a png folder), clip by clip, at the
    /// tokenized size or, with `scaledTo` another size, resized to it (e.g. the source's, `Header.source`).
    public func decode(_ file: TokenFile, to path: String, scaledTo size: (width: Int, height: Int)? = nil,
                       progress: ((JobProgress) -> Void)? = nil) throws {
        try file.checkMatches(model, weightsHash: weightsHash)
        let h = file.header
        let writer = try VideoWriter(path: path, width: h.source.tokenizedWidth, height: h.source.tokenizedHeight,
                                     frameRate: (h.source.frameRateNumerator, h.source.frameRateDenominator), scaledTo: size)
        do {
            let perFrame = h.h * h.w
            var offset = 0
            var done = 0
            let start = Date()
            for chunk in h.chunks {
                let slice = Array(file.ids[(offset * perFrame)..<((offset + chunk.latentFrames) * perFrame)])
                offset += chunk.latentFrames
                let tokens = try Tensor(slice, shape: [1, chunk.latentFrames, h.h, h.w])
                let frames = try framesFromModel(model.decode(tokens)).narrow(0, start: 0, length: chunk.frames)
                try writer.write(frames)
                done += chunk.frames
                progress?(JobProgress(frames: done, total: file.frames, seconds: Date().timeIntervalSince(start)))
            }
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// Encodes and decodes a video clip by clip and measures PSNR, SSIM and (above 160 pixels a side)
    /// MS-SSIM of every frame, the codebook usage of all tokens and the block-mean floor at the same
    /// bits; with an `output`, also writes the original and the reconstruction side by side.
    public func reconstruct(path: String, to output: String?, options: ReadOptions = ReadOptions(),
                            progress: ((JobProgress) -> Void)? = nil) throws -> ReconstructionReport {
        let info = try VideoInfo(probing: path)
        var readOptions = options
        readOptions.size = try frameSize(for: info, requested: options.size)
        let reader = try VideoReader(path: path, options: readOptions)
        let writer = try output.map {
            try VideoWriter(path: $0, width: reader.width * 2, height: reader.height,
                            frameRate: (info.frameRateNumerator, info.frameRateDenominator))
        }
        var report = ReconstructionReport()
        let floor = BlockMeanCodec(matching: model.config)
        let start = Date()
        do {
            try forEachClip(reader) { clip, count in
                let original = try framesFromModel(clip).narrow(0, start: 0, length: count)
                let tokens = try model.encode(clip)
                try report.record(tokens: tokens, codebookSize: model.config.quantizer.codebookSize)
                let decoded = try framesFromModel(model.decode(tokens)).narrow(0, start: 0, length: count)
                try report.record(original: original, decoded: decoded)
                try report.record(original: original, floor: floor.reconstruct(original))
                try writer?.write(concatenate([original, decoded], dim: 2))
                progress?(JobProgress(frames: report.frames, total: expectedFrames(info, options), seconds: Date().timeIntervalSince(start)))
            }
            try writer?.finish()
        } catch {
            writer?.abandon()
            throw error
        }
        return report
    }

    /// The block-mean floor as a codec (`BlockMeanCodec` at this tokenizer's blocks and bits): codes the
    /// video clip by clip as `encode` would, writes the decoded frames (scaled back to `scaledTo` when
    /// given) and returns the bits it spends.
    public func codeFloor(path: String, to output: String, options: ReadOptions = ReadOptions(),
                          scaledTo size: (width: Int, height: Int)? = nil) throws -> Int {
        let info = try VideoInfo(probing: path)
        var readOptions = options
        readOptions.size = try frameSize(for: info, requested: options.size)
        let reader = try VideoReader(path: path, options: readOptions)
        let writer = try VideoWriter(path: output, width: reader.width, height: reader.height,
                                     frameRate: (info.frameRateNumerator, info.frameRateDenominator), scaledTo: size)
        let floor = BlockMeanCodec(matching: model.config)
        var bits = 0
        do {
            try forEachClip(reader) { clip, count in
                let frames = try framesFromModel(clip).narrow(0, start: 0, length: count)
                bits += floor.bits(frames: count, height: reader.height, width: reader.width)
                try writer.write(floor.reconstruct(frames))
            }
            try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
        return bits
    }

    private func expectedFrames(_ info: VideoInfo, _ options: ReadOptions) -> Int? {
        guard options.frameRate == nil, let frames = info.frames else { return options.maxFrames }
        return Swift.min(frames, options.maxFrames ?? frames)
    }
}
