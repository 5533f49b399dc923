// Writing frames through ffmpeg: mp4 (H.264), gif, png sequences, and lossless mkv (FFV1) or y4m.
// Output goes to a temporary name beside the target and is renamed into place only when ffmpeg
// succeeded, so an interrupted or failed write never leaves a half-written file under the target. A
// frame folder follows the folder rule (OutputFiles): it replaces only an empty folder or one Magvit
// wrote, and from that only the frames.
import Foundation
import Torch

/// Output formats, chosen from the file name.
public enum VideoFormat: String, Sendable, CaseIterable {
    /// H.264 in MP4, yuv420p (odd sizes are padded by one pixel), CRF 18.
    case mp4
    case gif
    /// A folder of frame_00001.png, ...; exact (lossless).
    case png
    /// One PNG image (`name.png`): the first frame written; exact.
    case image
    /// FFV1 in Matroska, rgb: exact (lossless).
    case mkv
    /// YUV4MPEG2, 4:4:4: near exact (one RGB→YUV round trip).
    case y4m

    /// mp4, gif, mkv, y4m by extension; .png is one image; a name without extension (or ending in /)
    /// is a png folder.
    public init(path: String) throws {
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        if ext.isEmpty || path.hasSuffix("/") { self = .png; return }
        if ext == "png" { self = .image; return }
        guard let format = VideoFormat(rawValue: ext), format != .png, format != .image else {
            throw MediaError(path, "cannot write .\(ext): use .mp4, .gif, .mkv, .y4m, .png (one image) or a folder name for png frames")
        }
        self = format
    }
}

public final class VideoWriter {
    public let path: String
    public let format: VideoFormat
    public let width: Int
    public let height: Int
    public private(set) var framesWritten = 0

    private let temporary: String
    private let process: Process
    private let input: FileHandle
    private var drain: PipeDrain!
    private var closed = false

    /// Starts ffmpeg for `width` × `height` RGB frames at `frameRate` (a fraction). With `scaledTo`,
    /// ffmpeg resizes the frames to that size (Lanczos) before writing them.
    public init(path given: String, width: Int, height: Int, frameRate: (Int, Int) = (25, 1), format: VideoFormat? = nil,
                scaledTo: (width: Int, height: Int)? = nil) throws {
        let path = Self.trimmed(given)
        self.path = path
        self.format = try format ?? VideoFormat(path: given)
        self.width = width
        self.height = height
        guard width > 0, height > 0 else { throw MediaError(path, "frame size must be positive, got \(width)x\(height)") }
        if let scaledTo, !(1...16384).contains(scaledTo.width) || !(1...16384).contains(scaledTo.height) {
            throw MediaError(path, "the output size must be 1...16384 pixels a side, got \(scaledTo.width)x\(scaledTo.height)")
        }
        guard frameRate.0 > 0, frameRate.1 > 0 else {
            throw MediaError(path, "frame rate must be a positive fraction, got \(frameRate.0)/\(frameRate.1)")
        }
        try Self.checkDestination(path, format: self.format)
        try OutputFiles.createParents(of: path)
        let extensions: [VideoFormat: String] = [.mp4: ".mp4", .gif: ".gif", .png: "", .image: ".png", .mkv: ".mkv", .y4m: ".y4m"]
        temporary = OutputFiles.temporary(for: path, suffix: extensions[self.format]!)
        var arguments = ["-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "\(width)x\(height)",
                         "-framerate", "\(frameRate.0)/\(frameRate.1)", "-i", "pipe:0"]
        var filters: [String] = []
        if let scaledTo, scaledTo.width != width || scaledTo.height != height {
            filters.append("scale=\(scaledTo.width):\(scaledTo.height):flags=lanczos")
        }
        if self.format == .mp4 { filters.append("pad=ceil(iw/2)*2:ceil(ih/2)*2") }
        if self.format == .gif { filters.append("split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=sierra2_4a") }
        if !filters.isEmpty { arguments += ["-vf", filters.joined(separator: ",")] }
        switch self.format {
        case .mp4:
            arguments += ["-c:v", "libx264", "-crf", "18", "-preset", "medium", "-pix_fmt", "yuv420p", "-movflags", "+faststart", temporary]
        case .gif:
            arguments += [temporary]
        case .png:
            do { try OutputFiles.createFolder(temporary) } catch {
                try? FileManager.default.removeItem(atPath: temporary)
                OutputFiles.release(temporary)
                throw MediaError(path, "cannot write the frames (\(error))")
            }
            arguments += ["-start_number", "1", "\(temporary)/frame_%05d.png"]
        case .image:
            arguments += ["-frames:v", "1", "-update", "1", temporary]
        case .mkv:
            arguments += ["-c:v", "ffv1", "-pix_fmt", "rgb24", temporary]  // ffv1 stores RGB as bgr0, losslessly
        case .y4m:
            arguments += ["-pix_fmt", "yuv444p", "-strict", "-1", temporary]
        }
        process = try FFmpeg.process("ffmpeg", arguments)
        let stdin = Pipe(), err = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        input = stdin.fileHandleForWriting
        do { try FFmpeg.start(process) } catch {
            removeTemporary()
            throw error
        }
        drain = PipeDrain(err.fileHandleForReading)
    }

    deinit {
        if !closed { abandon() }
    }

    /// Appends frames (T, H, W, 3): float in [0, 1] (rounded, clamped) or uint8.
    public func write(_ frames: Tensor) throws {
        guard !closed else { throw MediaError(path, "writer already finished") }
        guard frames.rank == 4, frames.size(1) == height, frames.size(2) == width, frames.size(3) == 3 else {
            throw MediaError(path, "expected frames (T, \(height), \(width), 3), got \(frames.shape)")
        }
        let bytes = frames.dtype == .uint8 ? frames : try (frames * 255).round().clamp(min: 0, max: 255).to(.uint8)
        do {
            try input.write(contentsOf: Data(try bytes.bytes()))
        } catch {
            abandon()
            throw MediaError(path, "ffmpeg stopped taking frames: \(FFmpeg.lastLines(drain.wait()))")
        }
        framesWritten += frames.size(0)
    }

    /// Closes the stream, waits for ffmpeg and moves the result into place.
    public func finish() throws {
        guard !closed else { return }
        closed = true
        try? input.close()
        FFmpeg.wait(process)
        _ = drain.wait()
        guard process.terminationStatus == 0, framesWritten > 0 else {
            removeTemporary()
            throw MediaError(path, framesWritten == 0 ? "no frames were written" : "ffmpeg failed: \(FFmpeg.lastLines(drain.wait()))")
        }
        // ffmpeg can report success on a file it could not finish (a write error in the mp4
        // faststart pass): the result is read back before it is presented under the target name.
        if let problem = incomplete() {
            removeTemporary()
            throw MediaError(path, "the written file is incomplete (\(problem)); is the disk full?")
        }
        if format == .png {
            do { try replaceFrameFolder() } catch {
                removeTemporary()
                throw error
            }
            OutputFiles.release(temporary)
        } else if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            removeTemporary()
            throw MediaError(path, "cannot move the finished file into place (\(reason))")
        } else {
            OutputFiles.release(temporary)
        }
    }

    /// Checks a destination before any work (the writer checks again when it starts): a name whose
    /// format can be written, absent or a regular file, or for PNG frames a folder that is absent,
    /// empty, or one Magvit wrote holding only frames (docs/robustness.md, "Output rules").
    @discardableResult
    public static func checkDestination(_ path: String, format: VideoFormat? = nil) throws -> VideoFormat {
        let format = try format ?? VideoFormat(path: path)
        let path = trimmed(path)
        try OutputFiles.checkDestination(path, folder: format == .png)
        if format == .png { try OutputFiles.checkFolder(path, replacing: isFrame) }
        return format
    }

    /// Whether `name` is one of the files of a frame folder (frame_00001.png ...).
    static func isFrame(_ name: String) -> Bool {
        name.hasPrefix("frame_") && name.hasSuffix(".png") && name.dropFirst(6).dropLast(4).allSatisfy(\.isNumber)
    }

    /// `path` without trailing slashes: `-o frames/` names the folder `frames`.
    static func trimmed(_ path: String) -> String {
        var path = path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// Moves the finished frame folder into place. An existing folder (allowed by the folder rule,
    /// checked again now) loses only the frames and marker Magvit wrote; the rename then replaces it
    /// only if that left it empty, so files someone added meanwhile stop the write instead of being lost.
    private func replaceFrameFolder() throws {
        var info = stat()
        if lstat(path, &info) == 0 {
            try Self.checkDestination(path, format: .png)
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where Self.isFrame(entry) || entry == OutputFiles.folderMarker {
                unlink(path + "/" + entry)
            }
        }
        guard rename(temporary, path) == 0 else {
            throw MediaError(path, "cannot move the finished frames into place (\(String(cString: strerror(errno))))")
        }
    }

    /// What is wrong with the finished temporary, if anything: its frame count read back.
    private func incomplete() -> String? {
        switch format {
        case .png:
            let frames = ((try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? []).filter { $0.hasSuffix(".png") }.count
            return frames == framesWritten ? nil : "\(frames) of \(framesWritten) frames"
        case .image:
            return ((try? VideoInfo(probing: temporary)) != nil) ? nil : "it cannot be read back"
        default:
            guard let info = try? VideoInfo(probing: temporary) else { return "it cannot be read back" }
            guard let frames = info.frames, format != .gif else { return nil }
            return frames == framesWritten ? nil : "\(frames) of \(framesWritten) frames"
        }
    }

    /// Stops ffmpeg and deletes the partial output; the target is untouched.
    public func abandon() {
        closed = true
        try? input.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        FFmpeg.wait(process)
        removeTemporary()
    }

    private func removeTemporary() {
        try? FileManager.default.removeItem(atPath: temporary)
        OutputFiles.release(temporary)
    }
}

/// Frames (T, H, W, 3) in [0, 1] → model input (1, 3, T, H, W) in [-1, 1].
public func modelInput(_ frames: Tensor) throws -> Tensor {
    try (frames.permute([3, 0, 1, 2]).unsqueeze(0) * 2 - 1).contiguous()
}

/// Model output (1, 3, T, H, W) in [-1, 1] → frames (T, H, W, 3) in [0, 1], clamped.
public func framesFromModel(_ video: Tensor) throws -> Tensor {
    try ((video.squeeze(0).permute([1, 2, 3, 0]) + 1) / 2).clamp(min: 0, max: 1).contiguous()
}
