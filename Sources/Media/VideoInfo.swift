// What ffprobe says about a video or image file.
import Foundation

/// Size, rate and length of a media file's first video stream.
public struct VideoInfo: Sendable, Equatable, Codable {
    public var width: Int
    public var height: Int
    /// Frames per second as a fraction (30000/1001 for NTSC); images report 25/1 as ffmpeg does.
    public var frameRateNumerator: Int
    public var frameRateDenominator: Int
    /// The container's frame count, or nil when it does not know without decoding.
    public var frames: Int?
    public var pixelFormat: String
    public var codec: String
    /// Bits per colour component (8 or 10 for the formats this tool meets).
    public var bitDepth: Int

    public var frameRate: Double { Double(frameRateNumerator) / Double(Swift.max(frameRateDenominator, 1)) }

    /// Probes `path` with ffprobe. Fails with ffprobe's own words for a missing or non-media file.
    public init(probing original: String) throws {
        let path = try resolveInput(original)
        let data = try FFmpeg.run("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries",
                                              "stream=width,height,r_frame_rate,avg_frame_rate,nb_frames,pix_fmt,codec_name,bits_per_raw_sample",
                                              "-of", "json", path], path: path)
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let stream = (json["streams"] as? [[String: Any]])?.first,
              let width = stream["width"] as? Int, let height = stream["height"] as? Int, width > 0, height > 0
        else { throw MediaError(path, "not a video or image: ffprobe found no video stream") }
        self.width = width
        self.height = height
        let rate = (stream["avg_frame_rate"] as? String).flatMap(Self.fraction) ?? (stream["r_frame_rate"] as? String).flatMap(Self.fraction) ?? (25, 1)
        (frameRateNumerator, frameRateDenominator) = rate
        frames = (stream["nb_frames"] as? String).flatMap { Int($0) }
        pixelFormat = stream["pix_fmt"] as? String ?? "unknown"
        codec = stream["codec_name"] as? String ?? "unknown"
        bitDepth = (stream["bits_per_raw_sample"] as? String).flatMap { Int($0) }
            ?? (pixelFormat.contains("10") ? 10 : pixelFormat.contains("12") ? 12 : pixelFormat.contains("16") ? 16 : 8)
    }

    public init(width: Int, height: Int, frameRateNumerator: Int, frameRateDenominator: Int, frames: Int?, pixelFormat: String = "rgb24",
                codec: String = "rawvideo", bitDepth: Int = 8) {
        (self.width, self.height) = (width, height)
        (self.frameRateNumerator, self.frameRateDenominator) = (frameRateNumerator, frameRateDenominator)
        self.frames = frames
        self.pixelFormat = pixelFormat
        self.codec = codec
        self.bitDepth = bitDepth
    }

    static func fraction(_ text: String) -> (Int, Int)? {
        let parts = text.split(separator: "/").compactMap { Int($0) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else { return nil }
        return (parts[0], parts[1])
    }
}

/// A file, or a folder of frame_00001.png... as VideoWriter writes them (an ffmpeg image pattern).
func resolveInput(_ path: String) throws -> String {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw MediaError(path, "no such file") }
    guard isFolder.boolValue else {
        // A FIFO, device or socket could block the decoder forever or never end: regular files only.
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            throw MediaError(path, "not a regular file (a FIFO, device or socket); give a video file or a folder of frames")
        }
        return path
    }
    let pattern = (path as NSString).appendingPathComponent("frame_%05d.png")
    guard FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("frame_00001.png")) else {
        throw MediaError(path, "a folder of frames must hold frame_00001.png, frame_00002.png, ...")
    }
    return pattern
}
