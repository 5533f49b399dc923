// `magvit eval recon` at dataset scale: every clip of every input through the tokenizer (the decoder
// pool and fixed-shape batches of `magvit tokenize`), each video's whole frames by default (its size
// rounded down to the tokenizer's multiple, as `magvit reconstruct` takes it) or one size for all, scored against the original frames as a viewer
// sees them (both quantized to 8 bits): PSNR, SSIM, MS-SSIM (frames above 160 pixels a side) and
// shift-tolerant LPIPS (AlexNet, VGG) per frame, beside the block-mean floor at the same bits (PSNR,
// SSIM, LPIPS AlexNet: `BlockMeanCodec`, the trivial codec a tokenizer must beat); rFID between the original and reconstructed frames
// (FID Inception pool3); rFVD between consecutive 16-frame windows of each video and of its
// reconstruction (I3D logits); codebook usage and perplexity per video and over the whole set. A file
// that fails to decode is reported and left out of every number.
import Codec
import Dataset
import Foundation
import Media
import Metrics
import Tokenizer
import Torch

/// One row: a video's scores, or the mean over the videos.
public struct ReconstructionScores: Sendable {
    public var frames: Int
    public var psnr: Double
    public var ssim: Double
    /// Nil when the frames are too small for MS-SSIM's five scales.
    public var msSSIM: Double?
    public var lpipsAlex: Double?
    public var lpipsVGG: Double?
    public var codesUsed: Double
    public var perplexity: Double
    /// The block-mean floor's scores on the same frames (`BlockMeanCodec` at the tokenizer's bits).
    public var floor: FloorScores?

    /// PSNR, SSIM and LPIPS (AlexNet) of the block-mean codec at the tokenizer's rate.
    public struct FloorScores: Sendable {
        public var psnr: Double
        public var ssim: Double
        public var lpipsAlex: Double?
    }

    public init(frames: Int, psnr: Double, ssim: Double, msSSIM: Double?, lpipsAlex: Double? = nil, lpipsVGG: Double? = nil,
                codesUsed: Double, perplexity: Double) {
        (self.frames, self.psnr, self.ssim, self.msSSIM, self.lpipsAlex, self.lpipsVGG) = (frames, psnr, ssim, msSSIM, lpipsAlex, lpipsVGG)
        (self.codesUsed, self.perplexity) = (codesUsed, perplexity)
    }

    /// Each per-frame score averaged over the videos, every video counting once (a score is there
    /// only when every video has it); `frames` is their total. Codebook usage is the caller's.
    public static func mean(of videos: [ReconstructionScores], usage: CodebookUsage?) -> ReconstructionScores {
        let n = Double(Swift.max(videos.count, 1))
        func average(_ score: (ReconstructionScores) -> Double?) -> Double? {
            let values = videos.compactMap(score)
            return values.count == videos.count && !videos.isEmpty ? values.reduce(0, +) / n : nil
        }
        var mean = ReconstructionScores(
            frames: videos.map(\.frames).reduce(0, +), psnr: average(\.psnr) ?? 0, ssim: average(\.ssim) ?? 0, msSSIM: average(\.msSSIM),
            lpipsAlex: average(\.lpipsAlex), lpipsVGG: average(\.lpipsVGG), codesUsed: Double(usage?.used ?? 0), perplexity: usage?.perplexity ?? 0)
        if let psnr = average(\.floor?.psnr), let ssim = average(\.floor?.ssim) {
            mean.floor = FloorScores(psnr: psnr, ssim: ssim, lpipsAlex: average(\.floor?.lpipsAlex))
        }
        return mean
    }

    public static let header = "video                          frames  PSNR dB   SSIM    MS-SSIM  LPIPS-a  LPIPS-v  codes used  perplexity"

    /// The table line under `header`.
    public func row(_ label: String) -> String {
        func optional(_ v: Double?) -> String { (v.map { String(format: "%.4f", $0) } ?? "-").padding(toLength: 7, withPad: " ", startingAt: 0) }
        return label.padding(toLength: 30, withPad: " ", startingAt: 0) + " " + String(format: "%6d  %7.2f  %6.4f  ", frames, psnr, ssim)
            + optional(msSSIM) + "  " + optional(lpipsAlex) + "  " + optional(lpipsVGG) + " " + String(format: "%10.0f  %10.1f", codesUsed, perplexity)
    }

    /// The floor's line under `header` (PSNR, SSIM, LPIPS-a; "-" elsewhere), nil when not scored.
    public func floorRow(_ label: String = "  block-mean floor") -> String? {
        guard let floor else { return nil }
        var row = ReconstructionScores(frames: frames, psnr: floor.psnr, ssim: floor.ssim, msSSIM: nil, lpipsAlex: floor.lpipsAlex, codesUsed: 0, perplexity: 0)
        row.floor = nil
        return String(row.row(label).prefix(79))
    }

    public var json: [String: Any] {
        var fields: [String: Any] = ["frames": frames, "psnr": psnr, "ssim": ssim, "perplexity": perplexity, "codes_used": Int(codesUsed)]
        if let msSSIM { fields["ms_ssim"] = msSSIM }
        if let lpipsAlex { fields["lpips_alex"] = lpipsAlex }
        if let lpipsVGG { fields["lpips_vgg"] = lpipsVGG }
        if let floor {
            var f: [String: Any] = ["psnr": floor.psnr, "ssim": floor.ssim]
            if let lpips = floor.lpipsAlex { f["lpips_alex"] = lpips }
            fields["floor"] = f
        }
        return fields
    }
}

public struct ReconstructionEvaluation {
    public struct Options: Sendable {
        /// One frame size for every video (scaled to cover it, then cropped or stretched); nil: each
        /// video's own frames, rounded down to the tokenizer's spatial multiple (centre kept), the
        /// frames `magvit reconstruct` scores.
        public var size: (width: Int, height: Int)?
        public var centerCrop = true
        public var fps: Double?
        /// At most this many frames of each video.
        public var maxFrames: Int?
        /// Leave out (as failed) a file on which the decoder reported errors.
        public var strict = false
        public var batch = 8
        public var workers = 2
        public var lpips = true
        public var rFID = true
        public var rFVD = true
        /// Frames of an rFVD clip (16 in the common protocol).
        public var fvdFrames = I3D.clipFrames
        public var device: Device = .cpu

        public init() {}
    }

    public struct Result {
        public var videos: [(path: String, scores: ReconstructionScores)] = []
        /// The frame size each video was scored at, in the order of `videos`.
        public var frameSizes: [(width: Int, height: Int)] = []
        public var failures: [(path: String, error: String)] = []
        /// Per-frame scores averaged over videos; usage over the whole set.
        public var mean: ReconstructionScores
        public var rFID: Double?
        public var rFVD: Double?
        /// Frame pairs behind rFID and clip pairs behind rFVD.
        public var fidFrames = 0
        public var fvdClips = 0
    }

    /// What one video has gathered so far.
    struct Video {
        /// PSNR, SSIM, MS-SSIM and code counts, as the clip-by-clip `reconstruct` path records them.
        var report = ReconstructionReport()
        var lpipsAlex: [Double] = [], lpipsVGG: [Double] = [], floorLPIPS: [Double] = []
        var fid: [(Tensor, Tensor)] = []
        var fvd: [(Tensor, Tensor)] = []
        /// Frames waiting for a full rFVD window: originals and reconstructions (T, H, W, 3).
        var window: [(Tensor, Tensor)] = []
        var size = (width: 0, height: 0)
    }

    public let model: VideoTokenizer
    public let options: Options
    let lpips: [LPIPS]
    let inception: FIDInception?
    let i3d: I3D?

    /// Loads the metric networks the options ask for (from scripts/setup.sh's `.deps/weights`).
    public init(model: VideoTokenizer, options: Options) throws {
        self.model = model
        self.options = options
        let o = options
        lpips = o.lpips ? try [LPIPS.Network.alex, .vgg].map { try LPIPS(weights: LPIPS.defaultWeights($0), device: o.device) } : []
        inception = o.rFID ? try FIDInception(weights: FIDInception.defaultWeights(), device: o.device) : nil
        i3d = o.rFVD ? try I3D(weights: I3D.defaultWeights(), device: o.device) : nil
        guard o.fvdFrames >= I3D.minimumFrames else { throw EvaluationError("rFVD clips need at least \(I3D.minimumFrames) frames, got \(o.fvdFrames)") }
    }

    /// Scores the files; `progress` gets (files done, files).
    public func run(files: [String], progress: ((Int, Int) -> Void)? = nil) throws -> Result {
        let c = model.config
        if let size = options.size, size.width % c.spatialFactor != 0 || size.height % c.spatialFactor != 0 || size.width <= 0 || size.height <= 0 {
            throw EvaluationError("frame size \(size.width)x\(size.height) must be a positive multiple of \(c.spatialFactor) (\(c.name))")
        }
        let read = ReadOptions(size: options.size, centerCrop: options.centerCrop, frameRate: options.fps, maxFrames: options.maxFrames, strict: options.strict)
        // Without a size, each file is probed by its decoder and read at its own size, as reconstruct reads it.
        let ownSize: @Sendable (String) throws -> ReadOptions = { path in
            var own = read
            own.size = try VideoCodec.frameSize(for: VideoInfo(probing: path), requested: nil, config: c)
            own.centerCrop = true
            return own
        }
        let pool = DecodePool(files: files, clipFrames: c.clipFrames, options: read, workers: options.workers, queueClips: Swift.max(2, options.batch),
                              optionsOf: options.size == nil ? ownSize : nil)
        defer { pool.cancel() }
        var videos: [Int: Video] = [:]
        var done: [Int: ReconstructionScores] = [:]
        var sizes: [Int: (width: Int, height: Int)] = [:]
        var failures: [(String, String)] = []
        var codes: Tensor?
        var fid = (try FeatureStatistics(dimension: FIDInception.featureCount), try FeatureStatistics(dimension: FIDInception.featureCount))
        var fvd = (try FeatureStatistics(dimension: I3D.classCount), try FeatureStatistics(dimension: I3D.classCount))
        var batch: [DecodedClip] = []
        var finishedFiles = 0

        func flush() throws {
            guard !batch.isEmpty else { return }
            let x = try modelBatch(batch.map(\.pixels), batch: options.batch, channels: c.imageChannels).to(options.device)
            let tokens = try model.encode(x)
            let decoded = try model.decode(tokens)
            for (i, clip) in batch.enumerated() {
                try score(clip, tokens: tokens.narrow(0, start: i, length: 1), decoded: decoded.narrow(0, start: i, length: 1), into: &videos[clip.file, default: Video()])
            }
            batch.removeAll()
        }

        while let item = pool.next() {
            switch item {
            case .clip(let clip):
                // A batch holds clips of one size: videos of another size start the next.
                if let first = batch.first, first.pixels.shape != clip.pixels.shape { try flush() }
                batch.append(clip)
                if batch.count == options.batch { try flush() }
            case .finished(let file, _, _):
                try flush()
                let v = videos.removeValue(forKey: file) ?? Video()
                done[file] = try summary(v)
                sizes[file] = v.size
                if let counts = v.report.codeCounts { codes = try codes.map { try $0 + counts } ?? counts }
                for (a, b) in v.fid { try fid.0.add(a); try fid.1.add(b) }
                for (a, b) in v.fvd { try fvd.0.add(a); try fvd.1.add(b) }
                finishedFiles += 1
                progress?(finishedFiles, files.count)
            case .failed(let file, let message):
                try flush()
                videos[file] = nil
                failures.append((files[file], message))
                finishedFiles += 1
                progress?(finishedFiles, files.count)
            }
        }
        let rows = files.indices.compactMap { i in done[i].map { (files[i], $0) } }
        var result = Result(videos: rows, frameSizes: files.indices.compactMap { sizes[$0] }, failures: failures,
                            mean: .mean(of: rows.map(\.1), usage: try codes.map { try CodebookUsage(counts: $0) }))
        if inception != nil, fid.0.count >= 2 {
            result.rFID = try FrechetDistance.distance(fid.0, fid.1)
            result.fidFrames = fid.0.count
        }
        if i3d != nil, fvd.0.count >= 2 {
            result.rFVD = try FrechetDistance.distance(fvd.0, fvd.1)
            result.fvdClips = fvd.0.count
        }
        return result
    }

    /// Scores one clip's real frames and gathers its features.
    func score(_ clip: DecodedClip, tokens: Tensor, decoded: Tensor, into v: inout Video) throws {
        func viewed(_ frames: Tensor) throws -> Tensor {  // (T, H, W, C) → 3 channels, 8-bit levels, real frames only
            var x = try frames.to(.float32, .cpu).narrow(0, start: 0, length: clip.frames)
            if x.size(3) == 1 { x = try x.expand([x.size(0), x.size(1), x.size(2), 3]) }
            return try (x * 255).round() / 255
        }
        var originalFrames = clip.pixels
        v.size = (clip.pixels.size(2), clip.pixels.size(1))
        if model.config.imageChannels == 1 { originalFrames = try originalFrames.mean([3], keepDim: true) }
        let original = try viewed(originalFrames), reconstruction = try viewed(framesFromModel(decoded))
        try v.report.record(original: original, decoded: reconstruction)
        try v.report.record(tokens: tokens, codebookSize: model.config.quantizer.codebookSize)
        let floor = try viewed(BlockMeanCodec(matching: model.config).reconstruct(original))
        try v.report.record(original: original, floor: floor)
        let a = try original.permute([0, 3, 1, 2]).contiguous(), b = try reconstruction.permute([0, 3, 1, 2]).contiguous()  // (T, 3, H, W)
        if lpips.count == 2 {
            let (x, y) = (try (a * 2 - 1).to(options.device), try (b * 2 - 1).to(options.device))
            let z = try (floor.permute([0, 3, 1, 2]) * 2 - 1).contiguous().to(options.device)
            v.lpipsAlex += try withNoGrad { try lpips[0](x, y) }.to(.float64, .cpu).toArray(Double.self)
            v.lpipsVGG += try withNoGrad { try lpips[1](x, y) }.to(.float64, .cpu).toArray(Double.self)
            v.floorLPIPS += try withNoGrad { try lpips[0](x, z) }.to(.float64, .cpu).toArray(Double.self)
        }
        if let inception { v.fid.append(try withNoGrad { (try inception.features(a), try inception.features(b)) }) }
        if let i3d {
            v.window.append((original, reconstruction))
            var frames = v.window.map { $0.0.size(0) }.reduce(0, +)
            while frames >= options.fvdFrames {
                let x = try concatenate(v.window.map(\.0), dim: 0), y = try concatenate(v.window.map(\.1), dim: 0)
                let n = options.fvdFrames
                func clipOf(_ t: Tensor) throws -> Tensor { try t.narrow(0, start: 0, length: n).permute([3, 0, 1, 2]).unsqueeze(0) }  // (1, 3, n, H, W)
                let features = try withNoGrad { try i3d.features(concatenate([clipOf(x), clipOf(y)], dim: 0)) }
                v.fvd.append((try features.narrow(0, start: 0, length: 1), try features.narrow(0, start: 1, length: 1)))
                frames -= n
                v.window = frames > 0 ? [(try x.narrow(0, start: n, length: frames), try y.narrow(0, start: n, length: frames))] : []
            }
        }
    }

    func summary(_ v: Video) throws -> ReconstructionScores {
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        let r = v.report, usage = try r.usage()
        var scores = ReconstructionScores(
            frames: r.frames, psnr: r.meanPSNR, ssim: r.meanSSIM, msSSIM: r.meanMSSSIM,
            lpipsAlex: mean(v.lpipsAlex), lpipsVGG: mean(v.lpipsVGG), codesUsed: Double(usage?.used ?? 0), perplexity: usage?.perplexity ?? 0)
        if let psnr = r.meanFloorPSNR, let ssim = r.meanFloorSSIM {
            scores.floor = .init(psnr: psnr, ssim: ssim, lpipsAlex: mean(v.floorLPIPS))
        }
        return scores
    }
}
