// Published MAGVIT-v2 weights turned into Magvit tokenizers (`magvit import`): a checkpoint of a named
// format is read (a PyTorch .ckpt/.pt directly, or its tensors converted to safetensors), its layout
// read into a TokenizerConfig, its tensors mapped exactly, and, for a video tokenizer, the image
// model inflated on the paper's route (MAGVIT-v2 §3.2). Formats whose layers Magvit's architecture
// cannot express are refused naming the first layer that differs (docs/import.md).
import Crypto
import Foundation
import NN
import Torch

/// The checkpoint formats `magvit import` knows.
public enum ImportFormat: String, CaseIterable, Sendable {
    /// TencentARC's Open-MAGVIT2 image tokenizers (Lightning .ckpt: `state_dict`, optional `model_ema`).
    case openMagvit2 = "open-magvit2"
    /// lucidrains' magvit2-pytorch VideoTokenizer (`model_state_dict`): refused, see `Magvit2PyTorch`.
    case magvit2PyTorch = "magvit2-pytorch"
    /// cofe-ai's O2-MAGVIT2 video tokenizer: refused, see `O2Magvit2`.
    case o2Magvit2 = "o2-magvit2"
}

/// How a video tokenizer is made from an imported image tokenizer (the paper's inflation).
public struct VideoInflation: Sendable, Equatable {
    /// How many of the last downsampling levels also halve time (the paper: 2, so 17 frames → 5).
    public var temporalDownsamplings = 2
    /// Temporal size of the causal kernels (the paper: 3).
    public var temporalKernel = 3

    public init(temporalDownsamplings: Int = 2, temporalKernel: Int = 3) {
        self.temporalDownsamplings = temporalDownsamplings
        self.temporalKernel = temporalKernel
    }
}

/// What `WeightImport.run` is asked to do.
public struct ImportOptions: Sendable {
    /// Make a video tokenizer by inflation; nil keeps the image tokenizer.
    public var video: VideoInflation?
    /// Take the EMA weights when the checkpoint has them (what Open-MAGVIT2 evaluates and releases for use).
    public var useEMA = true

    public init(video: VideoInflation? = nil, useEMA: Bool = true) {
        self.video = video
        self.useEMA = useEMA
    }
}

/// An imported tokenizer and where it came from.
public struct ImportedTokenizer {
    public var model: VideoTokenizer
    public var report: VideoTokenizer.ImportReport
    /// The `imported` lineage record (JSON with sorted keys): format, source file name, its SHA-256,
    /// which weights, and the inflation when there was one.
    public var record: String
    /// Whether EMA weights were taken.
    public var usedEMA: Bool
}

public enum WeightImport {
    /// The metadata key of the lineage record (`WarmStart.lineage` reads it).
    public static let metadataKey = "imported"

    /// The tensors of a checkpoint file and the path of the state dict they came from: a safetensors file
    /// as it is, a PyTorch zip checkpoint's `state_dict` (Lightning) or `model_state_dict`
    /// (magvit2-pytorch), or its top-level dict when that holds the tensors itself.
    public static func readTensors(_ url: URL) throws -> [String: Tensor] {
        if TorchCheckpoint.isZip(url) {
            let checkpoint = try TorchCheckpoint(contentsOf: url)
            let keys = checkpoint.topLevelKeys
            let path = ["state_dict", "model_state_dict", "model"].first(where: keys.contains).map { [$0] } ?? []
            let refs = try checkpoint.tensorReferences(at: path)
            guard !refs.isEmpty else {
                throw TokenizerError.checkpoint("\(url.path): no tensors in its \(path.first ?? "top-level") dict (top-level keys: \(keys.joined(separator: ", ")))")
            }
            var out: [String: Tensor] = [:]
            for (name, ref) in refs { out[name] = try checkpoint.tensor(ref) }
            return out
        }
        let head = (try? FileHandle(forReadingFrom: url).read(upToCount: 8)).flatMap { $0 }.map(Array.init) ?? []
        if head.count == 8, url.pathExtension.lowercased() == "safetensors" || head[7] == 0 {
            return try SafeTensors.read(url).tensors
        }
        throw TokenizerError.checkpoint("\(url.path) is neither a PyTorch zip checkpoint (.ckpt, .pt, .pth from torch.save) nor a safetensors file")
    }

    /// Imports the checkpoint at `url` as `format`.
    public static func run(_ format: ImportFormat, checkpoint url: URL, options: ImportOptions = ImportOptions()) throws -> ImportedTokenizer {
        let tensors = try readTensors(url)
        switch format {
        case .magvit2PyTorch: throw Magvit2PyTorch.refusal(tensors)
        case .o2Magvit2: throw O2Magvit2.refusal(tensors)
        case .openMagvit2: break
        }
        var weights = tensors
        var usedEMA = false
        if options.useEMA, let ema = try OpenMagvit2.emaWeights(tensors) {
            weights = ema
            usedEMA = true
        }
        let imageConfig = try OpenMagvit2.config(of: weights)
        let image = try VideoTokenizer(config: imageConfig)
        var report: VideoTokenizer.ImportReport
        do { report = try image.loadOpenMagvit2(weights) } catch let error as TokenizerError {
            throw TokenizerError.checkpoint("\(url.path): \(error)")
        }
        report.ignored = tensors.keys.filter { !($0.hasPrefix("encoder.") || $0.hasPrefix("decoder.")) }.sorted()
        var model = image
        var record: [String: Any] = ["format": format.rawValue, "file": url.lastPathComponent, "sha256": try sha256(of: url),
                                     "weights": usedEMA ? "ema" : "raw", "config": imageConfig.name]
        if let video = options.video {
            var c = imageConfig
            c.name = imageConfig.name + "-video"
            c.temporalKernel = video.temporalKernel
            c.temporalDownsamplings = video.temporalDownsamplings
            c.clipFrames = 1 + 4 * c.temporalFactor
            guard c.temporalKernel > 1 else { throw TokenizerError.invalidConfig("a video tokenizer needs a temporal kernel above 1, got \(c.temporalKernel)") }
            try c.validate()
            model = try VideoTokenizer(config: c)
            try model.inflateImageModel(image)
            record["video"] = ["temporal_kernel": c.temporalKernel, "temporal_downsamplings": c.temporalDownsamplings, "clip_frames": c.clipFrames]
            record["config"] = c.name
        }
        let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
        return ImportedTokenizer(model: model, report: report, record: String(decoding: data, as: UTF8.self), usedEMA: usedEMA)
    }

    /// SHA-256 of a file's bytes (hex), read in pieces.
    public static func sha256(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let piece = try handle.read(upToCount: 1 << 24), !piece.isEmpty { hasher.update(data: piece) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
