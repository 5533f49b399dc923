// `magvit compress` and `decompress`: a video (or token file) to an entropy-coded stream (.mgvc) and
// back, under the shipped codec prior, another trained one, or the adaptive baseline.
import ArgumentParser
import Codec
import Compression
import Foundation
import GeneratorModel
import Media
import Tokenizer
import Torch

/// The entropy model a stream is coded under.
struct PriorOptions: ParsableArguments {
    @Option(help: "Entropy model: a generator trained on the tokenizer's tokens (magvit train-generator). Default: the shipped codec prior when it was trained on this tokenizer, otherwise the adaptive baseline.")
    var prior: String?

    @Flag(help: "Code with adaptive frequencies (no model).")
    var baseline = false

    /// The pipeline of a tokenizer under the prior these options pick (`PriorChoice`); `decoding`, the
    /// stream to decompress, whose recorded prior decides between the baseline and a model.
    func pipeline(codec: VideoCodec, device: Device, decoding stream: CompressedStream? = nil) throws -> CompressionPipeline {
        if prior != nil, baseline || stream.map({ Priors.isModelFree($0.header.prior.kind) }) == true {
            throw ValidationError("give either --prior or --baseline, not both")
        }
        let choice: PriorChoice = baseline ? .baseline : prior.map { .file(URL(fileURLWithPath: $0)) } ?? .shipped
        do {
            guard let stream else { return try CompressionPipeline(codec: codec, prior: choice, device: device) }
            return try CompressionPipeline(codec: codec, decoding: stream, prior: choice, device: device)
        } catch let error as PriorNotNamed {
            throw ValidationError("\(error.description); pass it with --prior")
        }
    }
}

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a video (or a .mgvt token file) into an entropy-coded stream (.mgvc).",
        discussion: """
        The tokens are range-coded under the codec prior in a schedule of --groups groups per clip; --keep sends only the
        first groups and the decoder fills the rest with the prior's most probable tokens (fewer bits, less fidelity).
        --quality picks one of five operating points instead (1: half size, 2 of 4 groups; 2 to 5: all groups at 0.5, 0.625,
        0.75 and full size): a clip coded smaller plays back at its own size with `decompress --size source`.
        Example:  magvit compress clip.mp4 -o clip.mgvc --keep 2
                  magvit compress clip.mp4 -o clip.mgvc --quality 2
        """)

    @Argument(help: "Input video or image, or a token file (.mgvt) made by the same tokenizer.")
    var input: String
    @Option(name: .shortAndLong, help: "Output stream (.mgvc).")
    var output: String
    @Option(help: "Groups of the coding schedule per clip: 1, 4, 16 or 64 (default 4).")
    var groups: Int?
    @Option(help: "Groups to send (1...groups); default all. Below all needs an entropy model.")
    var keep: Int?
    @Option(help: "Operating point 1...5, lowest rate first (instead of --groups, --keep and --size; docs/codec.md).")
    var quality: Int?
    @OptionGroup var priorOptions: PriorOptions
    @OptionGroup var frames: FrameOptions
    @OptionGroup var codecOptions: CodecOptions

    /// The operating point: a --quality level, or --groups and --keep as given.
    func operatingPoint() throws -> OperatingPoint {
        let ladder = OperatingPoint.ladder
        if let quality {
            guard groups == nil, keep == nil, frames.size == nil else {
                throw ValidationError("--quality picks the groups, the groups sent and the size itself: give it without --groups, --keep and --size")
            }
            guard (1...ladder.count).contains(quality) else { throw ValidationError("--quality must be 1...\(ladder.count) (1: the lowest rate), got \(quality)") }
            return ladder[quality - 1]
        }
        let groups = self.groups ?? 4
        let allowed = CodingSchedule.allowedGroups
        guard allowed.contains(groups) else { throw ValidationError("--groups must be \(allowed.dropLast().map(String.init).joined(separator: ", ")) or \(allowed.last!), got \(groups)") }
        if let keep, !(1...groups).contains(keep) { throw ValidationError("--keep must be 1...\(groups) (the groups), got \(keep)") }
        return try OperatingPoint(groups: groups, keep: keep ?? groups)
    }

    func run() throws {
        try Destination.file(output, inputs: [input], extensions: ["mgvc"], writes: "a compressed stream")
        let point = try operatingPoint()
        let tokensIn = URL(fileURLWithPath: input).pathExtension.lowercased() == "mgvt"
        if tokensIn && point.scale < 1 { throw ValidationError("this --quality codes the clip at \(point.scale)x its size: give the video, not a token file") }
        let (codec, device) = try codecOptions.load()
        let pipeline = try priorOptions.pipeline(codec: codec, device: device)
        let file: TokenFile
        if tokensIn {
            file = try TokenFile(contentsOf: URL(fileURLWithPath: input))  // refused by compress when another tokenizer made it
        } else {
            file = try ProgressBar.showing("encode") { try pipeline.tokens(ofVideo: input, options: frames.readOptions(), at: point, progress: $0) }
        }
        let lines = ProgressLines(label: "compress", every: 10)
        let compressed = try pipeline.compress(file, at: point) { lines.update($0) }
        lines.done()
        try OutputFiles.write(compressed.data, to: URL(fileURLWithPath: output))
        let header = compressed.stream.header, tokens = file.ids.count, bytes = compressed.data.count
        print(String(format: "%@: %d frames, %d tokens (%d of %d groups sent), %d bytes: %@, %.2f bits per token (raw %d), %@ prior%@",
                     output, file.frames, tokens, header.sentGroups, header.groups, bytes, Info.rate(bytes: bytes, file.header),
                     compressed.bitsPerToken, file.header.bits, pipeline.identity.name ?? pipeline.identity.kind,
                     header.sentGroups < header.groups
                        ? String(format: "; %.1f%% of the tokens decode as encoded", 100 * Double(compressed.tokensDecodedAsEncoded) / Double(tokens)) : ""))
        let source = file.header.source
        if point.scale < 1 {
            print("coded at \(source.tokenizedWidth)x\(source.tokenizedHeight) from \(source.width)x\(source.height): `magvit decompress \(output) -o VIDEO --size source` plays it back at \(source.width)x\(source.height)")
        }
    }
}

struct Decompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decompress a stream (.mgvc) into a video (.mp4, .gif, .mkv, .y4m, a PNG folder) or a token file (.mgvt).",
        discussion: "The tokenizer and the entropy model must be the ones that compressed it (checked by their weights hashes).")

    @Argument(help: "Compressed stream (.mgvc).")
    var input: String
    @Option(name: .shortAndLong, help: "Output video, PNG folder, or .mgvt token file.")
    var output: String
    @OptionGroup var size: OutputSizeOptions
    @OptionGroup var priorOptions: PriorOptions
    @OptionGroup var codecOptions: CodecOptions

    func run() throws {
        let tokensOut = URL(fileURLWithPath: output).pathExtension.lowercased() == "mgvt"
        if tokensOut {
            try Destination.file(output, inputs: [input], extensions: ["mgvt"], writes: "a token file")
        } else {
            try Destination.video(output, inputs: [input])
        }
        let stream = try CompressedStream(contentsOf: URL(fileURLWithPath: input))
        let frameSize = try size.check(stream.header.tokens, input: input)
        let (codec, device) = try codecOptions.load()
        let pipeline = try priorOptions.pipeline(codec: codec, device: device, decoding: stream)
        let lines = ProgressLines(label: "decompress", every: 10)
        let file = try pipeline.decompress(stream) { lines.update($0) }
        lines.done()
        if tokensOut {
            try file.write(to: URL(fileURLWithPath: output))
        } else {
            try ProgressBar.showing("decode") { try codec.decode(file, to: output, scaledTo: frameSize, progress: $0) }
        }
        print("\(output): \(file.frames) frames \(frameSize.width)x\(frameSize.height)")
    }
}

extension ProgressLines {
    /// Clips of a (de)compression.
    func update(_ p: CompressionProgress) {
        let rate = p.seconds > 0 ? Double(p.clips) / p.seconds : 0
        update(done: p.clips, total: p.total, unit: "clips", detail: String(format: "%.2f clips/s", rate),
               eta: rate > 0 ? Double(p.total - p.clips) / rate : nil)
    }
}

/// The size of what a decode (of a token file or a stream) writes, and the bound on it.
struct OutputSizeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Write frames of WIDTHxHEIGHT, or of the size of the video the tokens were made from with 'source' (Lanczos): a video coded at a lower --size plays back at its own size.", valueName: "WxH|source"))
    var size: String?

    @Option(help: "Refuse inputs that decode to more pixels than this (frames × width × height) unless --allow-large.")
    var maxPixels = 4_000_000_000
    @Flag(help: "Decode inputs larger than --max-pixels.") var allowLarge = false

    /// The frame size to write: the tokenized size unless `--size` asks for another.
    func frameSize(_ h: TokenFile.Header) throws -> (width: Int, height: Int) {
        guard let size else { return (h.source.tokenizedWidth, h.source.tokenizedHeight) }
        if size.lowercased() == "source" { return (h.source.width, h.source.height) }
        return try FrameOptions.parseSize(size)
    }

    /// States what a decode will write, and refuses more than `maxPixels` without `allowLarge`;
    /// returns the frame size to write.
    func check(_ h: TokenFile.Header, input: String) throws -> (width: Int, height: Int) {
        let (width, height) = try frameSize(h)
        let pixels = h.frames * width * height
        let scaled = width != h.source.tokenizedWidth || height != h.source.tokenizedHeight
        let size = "\(h.frames) frames of \(width)x\(height)" + (scaled ? " (scaled from \(h.source.tokenizedWidth)x\(h.source.tokenizedHeight))" : "")
        guard allowLarge || pixels <= maxPixels else {
            throw ValidationError("\(input) decodes to \(size) (\(pixels) pixels), more than --max-pixels \(maxPixels); pass --allow-large to decode it")
        }
        FileHandle.standardError.write(Data("decode: \(size) (\(String(format: "%.1f", Double(pixels) / 1e6)) megapixels)\n".utf8))
        return (width, height)
    }
}
