// Streaming frames out of any file ffmpeg can read, a few at a time, never the whole video.
import Foundation
import Torch

/// How frames are shaped on the way in.
public struct ReadOptions: Sendable {
    /// Output width × height; nil keeps the source size.
    public var size: (width: Int, height: Int)?
    /// With a size: scale to cover it keeping the aspect ratio, then cut the centre (otherwise stretch).
    public var centerCrop = true
    /// Resample to this many frames per second (ffmpeg's fps filter); nil keeps the source rate.
    public var frameRate: Double?
    /// Stop after this many frames.
    public var maxFrames: Int?
    /// Refuse a file on which the decoder reported errors (otherwise they are `VideoReader.warnings`).
    public var strict = false

    public init(size: (width: Int, height: Int)? = nil, centerCrop: Bool = true, frameRate: Double? = nil, maxFrames: Int? = nil, strict: Bool = false) {
        self.size = size
        self.centerCrop = centerCrop
        self.frameRate = frameRate
        self.maxFrames = maxFrames
        self.strict = strict
    }
}

/// Reads RGB frames from a video or image through an ffmpeg child process.
public final class VideoReader {
    public let path: String
    /// The source as probed.
    public let info: VideoInfo
    /// The size of the frames this reader returns.
    public let width: Int
    public let height: Int
    /// 8 for rgb24 output, 16 for sources deeper than 8 bits (rgb48le, 10-bit kept exactly).
    public let outputBits: Int
    /// Frames returned so far.
    public private(set) var framesRead = 0
    /// The decoder's error messages on a file it still decoded to the end (damage it concealed); set
    /// at the end of the video.
    public private(set) var warnings: [String] = []

    private let options: ReadOptions
    private let process: Process
    private let output: FileHandle
    private var drain: PipeDrain!
    private var finished = false

    public init(path: String, options: ReadOptions = ReadOptions()) throws {
        self.path = path
        self.options = options
        info = try VideoInfo(probing: path)
        if let size = options.size {
            guard size.width > 0, size.height > 0, size.width <= 16384, size.height <= 16384 else {
                throw MediaError(path, "output size must be 1...16384 pixels a side, got \(size.width)x\(size.height)")
            }
            (width, height) = size
        } else {
            (width, height) = (info.width, info.height)
        }
        if let limit = options.maxFrames, !(1...1_000_000_000).contains(limit) {
            throw MediaError(path, "the frame limit must be 1...1000000000, got \(limit)")
        }
        outputBits = info.bitDepth > 8 ? 16 : 8
        var filters: [String] = []
        if let rate = options.frameRate {
            guard rate > 0 else { throw MediaError(path, "frame rate must be positive, got \(rate)") }
            filters.append("fps=\(rate)")
        }
        if let size = options.size {
            filters.append(options.centerCrop
                ? "scale=\(size.width):\(size.height):force_original_aspect_ratio=increase:flags=bicubic,crop=\(size.width):\(size.height)"
                : "scale=\(size.width):\(size.height):flags=bicubic")
        }
        var arguments = ["-nostdin", "-v", "error", "-i", try resolveInput(path)]
        if !filters.isEmpty { arguments += ["-vf", filters.joined(separator: ",")] }
        if let limit = options.maxFrames { arguments += ["-frames:v", "\(limit)"] }
        arguments += ["-an", "-f", "rawvideo", "-pix_fmt", outputBits == 16 ? "rgb48le" : "rgb24", "pipe:1"]
        process = try FFmpeg.process("ffmpeg", arguments)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        output = out.fileHandleForReading
        try FFmpeg.start(process)
        drain = PipeDrain(err.fileHandleForReading)
    }

    deinit {
        guard !finished else { return }
        // Stopped early: close our end first (a decoder blocked writing to the pipe would never see
        // a SIGTERM through), then kill it; its frames are not wanted.
        try? output.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        FFmpeg.wait(process)
    }

    private var frameBytes: Int { width * height * 3 * outputBits / 8 }

    /// Up to `count` next frames as (T, H, W, 3) float32 in [0, 1], or nil at the end of the video.
    public func read(_ count: Int) throws -> Tensor? {
        guard !finished else { return nil }
        var buffer = Data()
        let wanted = count * frameBytes
        while buffer.count < wanted {
            guard let chunk = try output.read(upToCount: wanted - buffer.count), !chunk.isEmpty else { break }
            buffer.append(chunk)
        }
        if buffer.count < wanted { try finish() }
        guard buffer.count % frameBytes == 0 else {
            throw MediaError(path, "truncated: the decoder stopped inside frame \(framesRead + buffer.count / frameBytes + 1)")
        }
        let frames = buffer.count / frameBytes
        guard frames > 0 else { return nil }
        framesRead += frames
        let shape = [frames, height, width, 3]
        let raw = try buffer.withUnsafeBytes { (bytes) throws -> Tensor in
            if outputBits == 8 { return try Tensor.fromBytes(bytes, shape: shape, dtype: .uint8) }
            // rgb48le: reinterpret pairs of bytes as little-endian 16-bit values (kept in int32).
            let values = bytes.bindMemory(to: UInt16.self).map { Int32(UInt16(littleEndian: $0)) }
            return try Tensor(values, shape: shape)
        }
        return try raw.to(.float32) / Double((1 << outputBits) - 1)
    }

    /// Waits for ffmpeg; a failure, or fewer frames than the container promised, is an error.
    private func finish() throws {
        finished = true
        FFmpeg.wait(process)
        _ = drain.wait()
        guard process.terminationStatus == 0 else {
            throw MediaError(path, "cannot decode: \(FFmpeg.lastLines(drain.wait()))")
        }
        // Some demuxers (Matroska) end a cut file with an error message but a zero exit status.
        let messages = String(decoding: drain.wait(), as: UTF8.self).lowercased()
        if ["ended prematurely", "truncat", "end of file", "invalid data found"].contains(where: messages.contains) {
            throw MediaError(path, "truncated or damaged: \(FFmpeg.lastLines(drain.wait()))")
        }
        warnings = String(decoding: drain.wait(), as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if options.strict, !warnings.isEmpty {
            throw MediaError(path, "damaged: the decoder reported \(warnings.count) error(s) (\(FFmpeg.lastLines(drain.wait()))); without --strict it is read with the damage concealed")
        }
    }

    /// After the last `read`: throws when the container announced more frames than were decoded
    /// (a truncated or damaged file), unless a frame limit or rate change explains it.
    public func checkComplete() throws {
        guard finished, options.frameRate == nil, let expected = info.frames else { return }
        let limit = options.maxFrames ?? expected
        if framesRead < Swift.min(expected, limit) {
            let detail = FFmpeg.lastLines(drain.wait())
            throw MediaError(path, "truncated or damaged: the container lists \(expected) frames, \(framesRead) decoded\(detail.isEmpty ? "" : " (\(detail))")")
        }
    }

    /// Reads everything left (for short clips and tests).
    public func readAll() throws -> Tensor? {
        var parts: [Tensor] = []
        while let frames = try read(64) { parts.append(frames) }
        try checkComplete()
        return parts.isEmpty ? nil : try concatenate(parts, dim: 0)
    }
}
