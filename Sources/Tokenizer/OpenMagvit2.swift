// Loading Open-MAGVIT2 (TencentARC) image tokenizer weights. Our parameter names are theirs, so the
// mapping is: keep their `encoder.*` and `decoder.*` tensors, and inflate each 2D convolution kernel
// (O, I, kh, kw) into our causal 3D kernel (O, I, kt, kh, kw) by placing it in the last temporal slice
// with zeros elsewhere (REFERENCE.md §2): on one frame the causal conv then computes their 2D conv.
import Foundation
import NN
import Torch

extension VideoTokenizer {
    /// What an Open-MAGVIT2 checkpoint contributed.
    public struct ImportReport: Sendable {
        /// Tensors copied as they were.
        public var copied = 0
        /// 2D kernels inflated into causal 3D ones.
        public var inflated = 0
        /// Tensors of the checkpoint that are not part of the tokenizer (discriminator, LPIPS, EMA...).
        public var ignored: [String] = []
    }

    /// Loads an Open-MAGVIT2 checkpoint converted to safetensors (scripts/convert-open-magvit2.py turns
    /// their Lightning .ckpt into one). Keys may carry a `state_dict.` or `model.` prefix. Strict: every
    /// encoder and decoder tensor of this model must be present with a compatible shape.
    @discardableResult
    public func loadOpenMagvit2(from url: URL) throws -> ImportReport {
        let contents = try SafeTensors.read(url)
        do {
            return try loadOpenMagvit2(contents.tensors)
        } catch let error as TokenizerError {
            throw TokenizerError.checkpoint("\(url.path): \(error)")
        }
    }

    @discardableResult
    public func loadOpenMagvit2(_ tensors: [String: Tensor]) throws -> ImportReport {
        var report = ImportReport()
        var source: [String: Tensor] = [:]
        for (key, value) in tensors {
            var name = key
            for prefix in ["state_dict.", "model."] where name.hasPrefix(prefix) { name.removeFirst(prefix.count) }
            if name.hasPrefix("encoder.") || name.hasPrefix("decoder.") { source[name] = value } else { report.ignored.append(key) }
        }
        var mapped: [String: Tensor] = [:]
        var problems: [String] = []
        for (name, ours) in store.tensors where name.hasPrefix("encoder.") || name.hasPrefix("decoder.") {
            guard let theirs = source.removeValue(forKey: name) else {
                problems.append("missing \(name)")
                continue
            }
            if theirs.shape == ours.shape {
                mapped[name] = theirs
                report.copied += 1
            } else if ours.rank == 5, theirs.rank == 4, Array(ours.shape[0..<2] + ours.shape[3...]) == theirs.shape {
                mapped[name] = try inflate(theirs, frames: ours.size(2))
                report.inflated += 1
            } else {
                problems.append("\(name): ours \(ours.shape), theirs \(theirs.shape)")
            }
        }
        problems += source.keys.sorted().map { "unexpected \($0)" }
        guard problems.isEmpty else {
            let shown = problems.prefix(10).joined(separator: "; ")
            throw TokenizerError.checkpoint("not an Open-MAGVIT2 checkpoint for \(config.name): \(shown)\(problems.count > 10 ? "; ..." : "")")
        }
        try store.load(mapped, strict: false)
        return report
    }
}

/// Open-MAGVIT2's image tokenizers as Magvit configs: the layout is read from the checkpoint's shapes
/// (base channels, channel multipliers, residual blocks, bits), the rest is theirs by construction
/// (GroupNorm(32) everywhere, 3×3 kernels, no latent norm, LFQ with ±1 codes and channel 0 the least
/// significant bit of the id, which is ours).
public enum OpenMagvit2 {
    /// The image config the tensors describe, named `open-magvit2-R` with R the frame size their presets
    /// give 16×16 tokens at (any multiple of the spatial factor works). Throws naming the first tensor
    /// that is missing or of a shape Open-MAGVIT2's image tokenizer does not have.
    public static func config(of tensors: [String: Tensor]) throws -> TokenizerConfig {
        func fail(_ message: String) -> TokenizerError { .checkpoint("not an Open-MAGVIT2 image tokenizer: \(message)") }
        guard let convIn = tensors["encoder.conv_in.weight"] else {
            let sample = tensors.keys.sorted().prefix(3).joined(separator: ", ")
            throw fail("no encoder.conv_in.weight (the file holds \(tensors.count) tensors: \(sample)\(tensors.count > 3 ? ", ..." : ""))")
        }
        guard convIn.rank == 4 else {
            throw fail("encoder.conv_in.weight has shape \(convIn.shape); an image tokenizer's is (C, 3, 3, 3) (Open-MAGVIT2's video tokenizers are not supported)")
        }
        guard convIn.size(2) == 3, convIn.size(3) == 3 else { throw fail("encoder.conv_in.weight is a \(convIn.size(2))×\(convIn.size(3)) kernel, theirs is 3×3") }
        var c = TokenizerConfig(name: "open-magvit2")
        c.baseChannels = convIn.size(0)
        c.imageChannels = convIn.size(1)
        c.temporalKernel = 1
        c.normGroups = 32
        var multipliers: [Int] = []
        while let conv = tensors["encoder.down.\(multipliers.count).block.0.conv1.weight"] {
            guard conv.size(0) % c.baseChannels == 0 else {
                throw fail("encoder.down.\(multipliers.count).block.0.conv1.weight has \(conv.size(0)) channels, not a multiple of the \(c.baseChannels) base channels")
            }
            multipliers.append(conv.size(0) / c.baseChannels)
        }
        guard !multipliers.isEmpty else { throw fail("no encoder.down.0.block.0.conv1.weight") }
        c.channelMultipliers = multipliers
        var blocks = 0
        while tensors["encoder.down.0.block.\(blocks).conv1.weight"] != nil { blocks += 1 }
        c.residualBlocks = blocks
        guard let convOut = tensors["encoder.conv_out.weight"] else { throw fail("no encoder.conv_out.weight") }
        guard convOut.rank == 4, convOut.size(2) == 1, convOut.size(3) == 1 else {
            throw fail("encoder.conv_out.weight has shape \(convOut.shape), theirs is (bits, C, 1, 1)")
        }
        c.quantizer = QuantizerConfig(kind: .lfq, bits: convOut.size(0))
        c.resolution = 16 * c.spatialFactor
        c.name = "open-magvit2-\(c.resolution)"
        do { try c.validate() } catch { throw fail("its layout is not one Magvit can build: \(error)") }
        return c
    }

    /// The EMA weights of a training checkpoint: Lightning keeps them as buffers of `model_ema` named
    /// after each parameter with its dots removed (their LitEma); nil when there are none.
    public static func emaWeights(_ tensors: [String: Tensor]) throws -> [String: Tensor]? {
        guard tensors.keys.contains(where: { $0.hasPrefix("model_ema.") }) else { return nil }
        var out: [String: Tensor] = [:]
        for name in tensors.keys where name.hasPrefix("encoder.") || name.hasPrefix("decoder.") {
            let shadow = "model_ema." + name.replacingOccurrences(of: ".", with: "")
            guard let t = tensors[shadow] else { throw TokenizerError.checkpoint("the checkpoint has EMA weights but none for \(name) (\(shadow)); import without them (--no-ema)") }
            out[name] = t
        }
        return out
    }
}
