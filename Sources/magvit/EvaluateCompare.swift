// `magvit eval compare REFERENCE DISTORTED...`: a decoded video (ours, or any codec's) scored against
// its reference with the metrics of the rate-distortion study (`VideoComparison`), so a user need not
// reach for ffmpeg's psnr filter; with the stream that made it, its bits per pixel of the reference.
import ArgumentParser
import Compression
import Evaluation
import Foundation
import Media
import Metrics
import Torch

struct EvaluateCompare: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Score videos against a reference: PSNR (RGB and luma), SSIM, MS-SSIM, LPIPS, FVD, and bits per pixel of a stream.",
        discussion: """
            Each distorted video must have the reference's size and frame count (a stream coded at a lower size is \
            compared after `magvit decompress S.mgvc -o V --size source`). Per frame on 8-bit levels: PSNR of RGB and \
            of luma (BT.601 from RGB), SSIM, MS-SSIM (frames above 160 pixels a side), shift-tolerant LPIPS (AlexNet); \
            averaged over the frames. FVD (I3D) between the 16-frame windows of the two, from 2 windows (32 frames) on. \
            With --stream, the stream's size in bits per pixel of the reference (frames × width × height). Example:
              magvit decompress clip.mgvc -o clip-decoded.mp4 --size source
              magvit eval compare clip.mp4 clip-decoded.mp4 x265.mp4 --stream clip.mgvc --json scores.json
            """)

    @Argument(help: "The reference video.") var reference: String
    @Argument(help: "Videos to score against it.") var distorted: [String]
    @Option(help: "A compressed stream (.mgvc) per distorted video, in order (or one for one video): adds its bits per pixel.")
    var stream: [String] = []
    @Option(help: "Write the results as JSON here ('-': standard output).") var json: String?
    @Option(help: "Metrics to leave out, comma-separated: lpips, fvd.") var skip = ""
    @Option(help: "Compare only the first N frames of each.") var maxFrames: Int?
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard !distorted.isEmpty else { throw ValidationError("give the reference and at least one video to score against it") }
        guard stream.isEmpty || stream.count == distorted.count else {
            throw ValidationError("--stream: give one stream per distorted video, in order (\(distorted.count)), got \(stream.count)")
        }
        if let maxFrames, maxFrames < 1 { throw ValidationError("--max-frames must be at least 1, got \(maxFrames)") }
        if let unknown = skipped.subtracting(["lpips", "fvd"]).first { throw ValidationError("--skip: unknown metric '\(unknown)' (lpips, fvd)") }
    }

    var skipped: Set<String> { Set(skip.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }) }

    func run() throws {
        try Destination.reports(json)
        let device = try runtime.apply()
        let streams = try stream.map { try CompressedStream(contentsOf: URL(fileURLWithPath: $0)) }
        let info = try VideoInfo(probing: reference)
        let comparison = try VideoComparison(lpips: !skipped.contains("lpips"), fvd: !skipped.contains("fvd"), device: device)
        var rows: [[String: Any]] = []
        // With the JSON on standard output, the table goes to standard error.
        let print: (String) -> Void = json == "-" ? { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } : { Swift.print($0) }
        print("reference \(reference): \(info.width)x\(info.height)")
        print("video                          frames  PSNR dB  PSNR-Y dB  SSIM    MS-SSIM  LPIPS    FVD       bpp")
        for (i, path) in distorted.enumerated() {
            let result = try comparison.compare(reference: reference, distorted: path, maxFrames: maxFrames)
            let s = result.scores
            var row: [String: Any] = ["video": path, "frames": s.frames, "psnr": s.psnr, "psnr_y": s.psnrY, "ssim": s.ssim]
            if let v = s.msSSIM { row["ms_ssim"] = v }
            if let v = s.lpips { row["lpips"] = v }
            let fvd = try VideoComparison.fvd(result.windows)
            if let fvd { row["fvd"] = fvd }
            var bpp: Double?
            if i < streams.count {
                let (value, bytes) = try bitsPerPixel(streams[i], file: stream[i], frames: s.frames, info: info)
                (bpp, row["bpp"], row["stream_bytes"]) = (value, value, bytes)
            }
            func optional(_ v: Double?, _ format: String, _ width: Int) -> String {
                (v.map { String(format: format, $0) } ?? "-").padding(toLength: width, withPad: " ", startingAt: 0)
            }
            print(URL(fileURLWithPath: path).lastPathComponent.padding(toLength: 30, withPad: " ", startingAt: 0) + " "
                  + String(format: "%6d  %7.2f  %9.2f  %6.4f  ", s.frames, s.psnr, s.psnrY, s.ssim)
                  + optional(s.msSSIM, "%.4f", 7) + "  " + optional(s.lpips, "%.4f", 7) + "  " + optional(fvd, "%.2f", 8) + "  " + optional(bpp, "%.4f", 7))
            rows.append(row)
        }
        if !skipped.contains("fvd"), rows.contains(where: { $0["fvd"] == nil }) {
            print("FVD needs two \(I3D.clipFrames)-frame windows (\(2 * I3D.clipFrames) frames); '-' where a video is shorter")
        }
        if let json {
            let output: [String: Any] = ["reference": reference, "width": info.width, "height": info.height, "videos": rows]
            let data = try JSONSerialization.data(withJSONObject: output, options: [.prettyPrinted, .sortedKeys])
            if json == "-" { FileHandle.standardOutput.write(data + Data("\n".utf8)) } else {
                try OutputFiles.write(data, to: URL(fileURLWithPath: json))
                print("wrote \(json)")
            }
        }
    }

    /// The stream's bits per pixel of the reference, after checking that it was made from a video of
    /// the reference's size and length.
    func bitsPerPixel(_ s: CompressedStream, file: String, frames: Int, info: VideoInfo) throws -> (Double, Int) {
        let source = s.header.tokens.source, streamFrames = s.header.tokens.frames
        guard source.width == info.width, source.height == info.height else {
            throw ToolError("\(file) was made from a \(source.width)x\(source.height) video, the reference \(reference) is \(info.width)x\(info.height)")
        }
        guard streamFrames == frames || maxFrames != nil else {
            throw ToolError("\(file) holds \(streamFrames) frames, the videos compared \(frames)")
        }
        let bytes = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0
        return (s.bitsPerPixel(fileBytes: bytes), bytes)
    }
}
