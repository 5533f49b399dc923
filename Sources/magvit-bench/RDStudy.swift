// `magvit-bench rd-study`: Magvit's codec against x264, x265, SVT-AV1 and VVC (vvenc) on the same
// pixels. For each clip and operating point: the real size of the coded file in bits per pixel, PSNR
// (RGB and Y), SSIM, MS-SSIM, LPIPS against the reference as decoded by each codec's own decoder,
// FVD pooled over the clips' 16-frame windows, and encode and decode time. Magvit's points are the
// groups of its coding schedule sent (the rest filled by the prior); the others' are quality settings.
// Writes study.json (after each clip); scripts/rd-plot.py draws the curves and the Bjøntegaard-delta rates.
import ArgumentParser
import Codec
import Compression
import Evaluation
import Foundation
import Media
import Tokenizer
import Torch

struct RDStudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rd-study",
        abstract: "Rate-distortion study of the Magvit codec against x264, x265, SVT-AV1 and VVC on held-out clips (scripts/rd-study.sh).")

    @Option(parsing: .upToNextOption, help: "Reference clips (.y4m, yuv420p; sides multiples of the tokenizer's spatial factor).") var clips: [String]
    @Option(help: "Output folder (coded files, decoded videos, study.json).") var output: String
    @Option(help: "Tokenizer checkpoint.") var checkpoint = ShippedResources.defaultTokenizer.path
    @Option(help: "Entropy model (generator checkpoint) of the codec.") var prior: String
    @Option(help: "ffmpeg with libx264, libx265 and libsvtav1.") var ffmpeg = "/usr/bin/ffmpeg"
    @Option(name: .customLong("vvc-ffmpeg"), help: "ffmpeg with libvvenc and a VVC decoder (imageio-ffmpeg's static build); none: leave VVC out.") var vvcFFmpeg: String?
    @Option(parsing: .upToNextOption, help: "Magvit points as GROUPS:KEEP, or GROUPS:KEEP@SCALE to code the clip scaled by SCALE (0 < SCALE < 1; sides rounded to the tokenizer's factor) and play it back at full size.")
    var magvitPoints = ["4:4", "4:3", "4:2", "4:1", "4:4@0.5", "4:2@0.5"]
    @Option(parsing: .upToNextOption, help: "x264 CRF values.") var x264 = [36, 42, 47, 51]
    @Option(parsing: .upToNextOption, help: "x265 CRF values.") var x265 = [30, 36, 42, 47, 51]
    @Option(parsing: .upToNextOption, help: "SVT-AV1 CRF values.") var svtav1 = [48, 54, 59, 63]
    @Option(parsing: .upToNextOption, help: "vvenc QP values.") var vvenc = [44, 50, 56, 63]
    @Option(help: "Codecs to run, comma-separated, of magvit, block-mean (the floor: each token's block as its mean colour at the same bits), x264, x265, svt-av1, vvc (rd-plot.py can take the others' rows from an earlier study of the same clips).")
    var codecs = "magvit,block-mean,x264,x265,svt-av1,vvc"
    @OptionGroup var device: DeviceOption

    struct Row: Codable {
        /// A setting names no clip-specific size, so FVD pools a setting's windows over every clip.
        var clip: String, codec: String, setting: String
        /// Magvit's points coded at a lower scale: the size coded (WxH).
        var codedSize: String?
        var bytes: Int, bpp: Double
        var scores: VideoComparison.Scores
        var encodeSeconds: Double, decodeSeconds: Double
        /// Magvit only: bits per token of the payload, and of the same ids under the adaptive baseline.
        var bitsPerToken: Double?
        var baselineBitsPerToken: Double?
    }

    func run() throws {
        let points = try magvitPoints.map { text in
            do { return try OperatingPoint(parsing: text) } catch { throw ValidationError("--magvit-points: \(error)") }
        }
        let chosen = Set(codecs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let known: Set<String> = ["magvit", "block-mean", "x264", "x265", "svt-av1", "vvc"]
        guard !chosen.isEmpty, chosen.isSubset(of: known) else {
            throw ValidationError("--codecs: expected some of \(known.sorted().joined(separator: ", ")), got \(codecs)")
        }
        let device = try self.device.resolved()
        let out = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let tokenizer = try VideoTokenizer.load(from: URL(fileURLWithPath: checkpoint), device: device)
        let codec = try VideoCodec(model: tokenizer)
        let pipeline = try CompressionPipeline(codec: codec, prior: .file(URL(fileURLWithPath: prior)), device: device)
        let baselinePipeline = CompressionPipeline(codec: codec, model: nil)
        let comparison = try VideoComparison(device: device)
        var rows: [Row] = []
        var windows: [String: [(Tensor, Tensor)]] = [:]  // "codec setting" → FVD windows of every clip
        func record(_ row: Row, _ result: VideoComparison.Result) {
            rows.append(row)
            windows["\(row.codec) \(row.setting)", default: []] += result.windows
            let s = row.scores
            say(String(format: "%@ %@ %@: %.4f bpp, PSNR %.2f (Y %.2f), SSIM %.4f, MS-SSIM %@, LPIPS %.4f, encode %.2f s, decode %.2f s",
                         row.clip, row.codec, row.setting + (row.codedSize.map { " (\($0))" } ?? ""), row.bpp, s.psnr, s.psnrY, s.ssim, s.msSSIM.map { String(format: "%.4f", $0) } ?? "-",
                         s.lpips ?? .nan, row.encodeSeconds, row.decodeSeconds))
        }
        /// study.json with every row so far (rewritten after each clip, so an interrupted study keeps its finished clips).
        func write() throws {
            var fvd: [String: Double] = [:]
            for (key, w) in windows { fvd[key] = try VideoComparison.fvd(w) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let study: [String: Any] = [
                "rows": try JSONSerialization.jsonObject(with: encoder.encode(rows)),
                "fvd": fvd, "clips": clips, "tokenizer": checkpoint, "tokenizer_weights": codec.weightsHash, "prior": prior,
                "prior_weights": pipeline.identity.weights ?? "", "device": "\(device)",
            ]
            try OutputFiles.write(try JSONSerialization.data(withJSONObject: study, options: [.prettyPrinted, .sortedKeys]), to: out.appendingPathComponent("study.json"))
        }
        for clip in clips {
            let name = URL(fileURLWithPath: clip).deletingPathExtension().lastPathComponent
            let folder = out.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let info = try VideoInfo(probing: clip)
            // Magvit: the tokens once per scale, then each point's stream; bits per pixel of the reference.
            var encoded: [Double: (tokens: TokenFile, seconds: Double, baseline: CompressedVideo)] = [:]
            for point in points where chosen.contains("magvit") {
                if encoded[point.scale] == nil {
                    let start = now()
                    let tokens = try pipeline.tokens(ofVideo: clip, options: ReadOptions(centerCrop: false), at: point)
                    let seconds = now() - start
                    encoded[point.scale] = (tokens, seconds, try baselinePipeline.compress(tokens, at: OperatingPoint(groups: 4, keep: 4)))
                }
                let (tokens, tokenSeconds, baseline) = encoded[point.scale]!
                var start = now()
                let compressed = try pipeline.compress(tokens, at: point)
                let encodeSeconds = tokenSeconds + now() - start
                let file = folder.appendingPathComponent("magvit-\(point.fileName).mgvc")
                try compressed.data.write(to: file)
                let decoded = folder.appendingPathComponent("magvit-\(point.fileName)")
                try? FileManager.default.removeItem(at: decoded)
                start = now()
                let back = try pipeline.decompress(try CompressedStream(decoding: Data(contentsOf: file)))
                try codec.decode(back, to: decoded.path, scaledTo: (info.width, info.height))  // scaled only when coded smaller
                let decodeSeconds = now() - start
                let result = try comparison.compare(reference: clip, distorted: decoded.path)
                let size = point.scale == 1 ? nil : "\(tokens.header.source.tokenizedWidth)x\(tokens.header.source.tokenizedHeight)"
                record(Row(clip: name, codec: "magvit", setting: point.description, codedSize: size, bytes: compressed.data.count,
                           bpp: Double(compressed.data.count * 8) / Double(result.scores.frames * info.width * info.height),
                           scores: result.scores, encodeSeconds: encodeSeconds, decodeSeconds: decodeSeconds,
                           bitsPerToken: compressed.bitsPerToken, baselineBitsPerToken: baseline.bitsPerToken), result)
            }
            // The floor: each token's block as its mean colour at the tokenizer's bits (BlockMeanCodec).
            if chosen.contains("block-mean") {
                let decoded = folder.appendingPathComponent("block-mean.y4m")
                let start = now()
                let bits = try codec.codeFloor(path: clip, to: decoded.path, scaledTo: (info.width, info.height))
                let seconds = now() - start
                let result = try comparison.compare(reference: clip, distorted: decoded.path)
                record(Row(clip: name, codec: "block-mean", setting: "\(tokenizer.config.quantizer.bits) bits a block", bytes: (bits + 7) / 8,
                           bpp: Double(bits) / Double(result.scores.frames * info.width * info.height),
                           scores: result.scores, encodeSeconds: seconds, decodeSeconds: 0), result)
                try? FileManager.default.removeItem(at: decoded)
            }
            // The standard codecs, each decoded by its own ffmpeg into a y4m of its 8-bit output.
            var standard: [(name: String, ffmpeg: String, ext: String, settings: [Int], arguments: (Int) -> [String])] = [
                ("x264", ffmpeg, "264", x264, { ["-c:v", "libx264", "-preset", "medium", "-crf", "\($0)", "-pix_fmt", "yuv420p"] }),
                ("x265", ffmpeg, "265", x265, { ["-c:v", "libx265", "-preset", "medium", "-crf", "\($0)", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p"] }),
                ("svt-av1", ffmpeg, "ivf", svtav1, { ["-c:v", "libsvtav1", "-preset", "6", "-crf", "\($0)", "-pix_fmt", "yuv420p"] }),
            ]
            if let vvcFFmpeg {
                standard.append(("vvc", vvcFFmpeg, "266", vvenc, { ["-c:v", "libvvenc", "-preset", "faster", "-qp", "\($0)", "-pix_fmt", "yuv420p10le"] }))
            }
            for c in standard where chosen.contains(c.name) {
                for setting in c.settings {
                    let coded = folder.appendingPathComponent("\(c.name)-\(setting).\(c.ext)")
                    let decoded = folder.appendingPathComponent("\(c.name)-\(setting).y4m")
                    let encodeSeconds = try runFFmpeg(c.ffmpeg, ["-i", clip, "-an"] + c.arguments(setting) + [coded.path])
                    let decodeSeconds = try runFFmpeg(c.ffmpeg, ["-i", coded.path, "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-strict", "-1", decoded.path])
                    let bytes = try FileManager.default.attributesOfItem(atPath: coded.path)[.size] as? Int ?? 0
                    let result = try comparison.compare(reference: clip, distorted: decoded.path)
                    record(Row(clip: name, codec: c.name, setting: "\(c.name == "vvc" ? "qp" : "crf") \(setting)", bytes: bytes,
                               bpp: Double(bytes * 8) / (Double(result.scores.frames * info.width * info.height)),
                               scores: result.scores, encodeSeconds: encodeSeconds, decodeSeconds: decodeSeconds), result)
                    try? FileManager.default.removeItem(at: decoded)
                }
            }
            try write()
        }
        say("wrote \(out.appendingPathComponent("study.json").path)")
    }

    /// A line on standard output at once (print's buffer holds it back when the output is a file).
    func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

    /// Runs ffmpeg quietly (overwriting), returns its wall time; a failure is an error with its output.
    func runFFmpeg(_ executable: String, _ arguments: [String]) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-nostdin", "-y", "-v", "error"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let start = now()
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("\(executable) \(arguments.joined(separator: " ")) failed: \(String(decoding: data, as: UTF8.self))")
        }
        return now() - start
    }
}

extension OperatingPoint {
    /// Files are named by it, so a scale is written in percent (no dot to read as an extension).
    var fileName: String { "\(groups)-\(keep)" + (scale == 1 ? "" : String(format: "-at-%g-percent", scale * 100)) }
}
