// `magvit info FILE`: what a token file, checkpoint or media file holds.
import ArgumentParser
import Codec
import Compression
import Foundation
import Harness
import Media
import NN
import Tokenizer
import Torch

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a token file, a checkpoint or a video/image file.")

    @Argument(help: "A .mgvt token file, a .mgvc compressed stream, a .safetensors checkpoint, or any media file.")
    var file: String

    func run() throws {
        // Every line below may hold text from the file (a source name, metadata): controls escaped.
        func print(_ line: String) { Swift.print(TerminalText.escaped(line)) }
        let url = URL(fileURLWithPath: file)
        guard FileManager.default.fileExists(atPath: file) else { throw ToolError("\(file): no such file") }
        let head = (try? FileHandle(forReadingFrom: url).read(upToCount: 8)) ?? nil
        if head.map(Array.init) == TokenFile.magic || url.pathExtension.lowercased() == "mgvt" {
            let t = try TokenFile(contentsOf: url)
            let h = t.header
            print("token file \(file)")
            print("  tokenizer   \(h.tokenizer.name) (weights \(h.tokenizer.weights.prefix(16))...)")
            print("  tokens      \(h.t)x\(h.h)x\(h.w) of \(h.bits) bits, \(h.chunks.count) clips")
            print("  frames      \(t.frames) at \(h.source.tokenizedWidth)x\(h.source.tokenizedHeight), \(h.source.frameRateNumerator)/\(h.source.frameRateDenominator) fps")
            print("  source      \(h.source.file), \(h.source.width)x\(h.source.height)")
            let bytes = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0
            print("  size        \(bytes) bytes, " + Self.rate(bytes: bytes, h))
        } else if head.map(Array.init) == CompressedStream.magic || url.pathExtension.lowercased() == "mgvc" {
            let stream = try CompressedStream(contentsOf: url)
            let s = stream.header, h = s.tokens
            let bytes = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0
            print("compressed stream \(file)")
            print("  tokenizer   \(h.tokenizer.name) (weights \(h.tokenizer.weights.prefix(16))...)")
            print("  prior       \(s.prior.name ?? s.prior.kind) (\(s.prior.kind), factors \(s.prior.factorBits)\(s.prior.weights.map { ", weights \($0.prefix(16))..." } ?? ""))")
            print("  tokens      \(h.t)x\(h.h)x\(h.w) of \(h.bits) bits, \(h.chunks.count) clips; \(s.sentGroups) of \(s.groups) groups sent")
            print("  frames      \(h.frames) at \(h.source.tokenizedWidth)x\(h.source.tokenizedHeight), \(h.source.frameRateNumerator)/\(h.source.frameRateDenominator) fps")
            print("  source      \(h.source.file), \(h.source.width)x\(h.source.height)")
            print("  size        \(bytes) bytes, " + Self.rate(bytes: bytes, h) + String(format: ", %.2f bits per token (raw %d)", stream.bitsPerToken, h.bits))
        } else if url.pathExtension == "safetensors" {
            let contents = try SafeTensors.read(url)
            if contents.metadata["magvit.config"] != nil {
                let model = try VideoTokenizer.load(from: url)
                let c = model.config
                print("tokenizer checkpoint \(file)")
                print("  config      \(c.name): \(c.clipFrames)x\(c.resolution)x\(c.resolution) clips, channels \(c.baseChannels)x\(c.channelMultipliers), 2^\(c.quantizer.bits) codes (\(c.quantizer.kind.rawValue))")
                print("  parameters  \(model.parameterCount)")
                print("  weights     \(try model.weightsHash())")
                for line in WarmStart.lineage(contents.metadata) { print("  trained     \(line)") }
                // The lineage lines above say what warm_start and imported hold; the records stay in the file.
                for (key, value) in contents.metadata.sorted(by: { $0.key < $1.key }) where !key.hasPrefix("magvit.") && key != "warm_start" && key != "imported" {
                    // A record of several lines (the pretty JSON of training_config) keeps its lines, indented.
                    let lines = value.split(separator: "\n", omittingEmptySubsequences: false)
                    if lines.count > 1 {
                        print("  \(key):")
                        for line in lines { print("    \(line)") }
                    } else {
                        print("  \(key): \(value)")
                    }
                }
            } else {
                let count = contents.tensors.values.reduce(0) { $0 + $1.count }
                print("safetensors \(file): \(contents.tensors.count) tensors, \(count) values (not a Magvit tokenizer checkpoint)")
            }
        } else {
            let info = try VideoInfo(probing: file)
            print("media \(file)")
            print("  video       \(info.width)x\(info.height), \(info.codec), \(info.pixelFormat), \(info.bitDepth)-bit")
            print(String(format: "  frames      %@ at %.3f fps", info.frames.map(String.init) ?? "unknown", info.frameRate))
        }
    }

    /// Bits per pixel of the source video (what codecs are compared by), and of the coded size beside
    /// it when the clip was coded smaller: `compress` and `info` say the same.
    static func rate(bytes: Int, _ h: TokenFile.Header) -> String {
        let s = h.source, bits = Double(bytes * 8)
        let text = String(format: "%.4f bits per pixel", bits / (Double(h.frames) * Double(s.width) * Double(s.height)))
        guard s.tokenizedWidth != s.width || s.tokenizedHeight != s.height else { return text }
        return text + String(format: " of the %dx%d source (%.4f at the coded %dx%d)", s.width, s.height,
                             bits / Double(h.outputPixels), s.tokenizedWidth, s.tokenizedHeight)
    }
}
