// The published MAGVIT-v2 layouts Magvit's TokenizerConfig cannot express, and the refusals that
// name the first layer that differs (docs/import.md, "Formats not supported"). Each check reads the
// checkpoint's own tensor names and shapes, so a file of another format is told so first.
import Torch

/// lucidrains' magvit2-pytorch `VideoTokenizer` (`save()` writes `model_state_dict`).
public enum Magvit2PyTorch {
    /// Why this state dict cannot become a Magvit tokenizer: the first thing that does not match.
    public static func refusal(_ tensors: [String: Tensor]) -> TokenizerError {
        func fail(_ message: String) -> TokenizerError { .checkpoint("magvit2-pytorch: \(message)") }
        guard let convIn = tensors["conv_in.conv.weight"] else {
            return fail("not a magvit2-pytorch VideoTokenizer state dict: no conv_in.conv.weight (\(describe(tensors)))")
        }
        // Magvit's encoder opens with a 3×3 (×k_t) conv; theirs defaults to a causal 7×7×7 one.
        if convIn.rank == 5, convIn.size(3) != 3 || convIn.size(4) != 3 {
            return fail("conv_in.conv.weight is a \(convIn.size(2))×\(convIn.size(3))×\(convIn.size(4)) kernel; Magvit's first conv is 3×3 in space"
                + " (and every later layer differs as well: see docs/import.md)")
        }
        // Their layers are a flat list of residual units, (de)compressions and attention, none with a
        // group norm; Magvit's levels are GroupNorm → swish → conv residual blocks.
        let first = tensors.keys.filter { $0.hasPrefix("encoder_layers.0.") }.sorted()
        return fail("encoder_layers.0 (\(first.prefix(3).joined(separator: ", "))) is a magvit2-pytorch layer (a ResidualUnit is causal conv → ELU →"
            + " 1×1×1 conv → ELU → squeeze-excite, without group norm); Magvit's residual blocks are GroupNorm → swish → conv → GroupNorm → swish → conv,"
            + " so the layout cannot be expressed in TokenizerConfig (docs/import.md)")
    }
}

/// cofe-ai's O2-MAGVIT2 video tokenizer (github.com/cofe-ai/O2-MAGVIT2, modeling/magvit2.py).
public enum O2Magvit2 {
    /// Why this state dict cannot become a Magvit tokenizer: the first thing that does not match.
    public static func refusal(_ tensors: [String: Tensor]) -> TokenizerError {
        func fail(_ message: String) -> TokenizerError { .checkpoint("o2-magvit2: \(message)") }
        guard let norm = tensors.keys.sorted().first(where: { $0.contains("cond_norm_layers.cond_norm_0.gamma.weight") }) else {
            return fail("not an O2-MAGVIT2 tokenizer state dict: no decoder.cond_norm_layers.cond_norm_0.gamma.weight (\(describe(tensors)))")
        }
        // Their encoder maps onto Magvit's (bias-free residual convs would load as zero biases); the
        // decoder's conditional norm does not: it is computed per position, where Magvit's (and
        // Open-MAGVIT2's) takes the latents' per-channel statistics over the whole clip.
        return fail("\(norm) is a per-position adaptive group norm (x·(1 + γ(z)) + β(z) with z, the quantized latents,"
            + " nearest-upsampled to each level and γ, β linear maps of each position's latent); Magvit's adaptive group norm scales by"
            + " Linear(std of z over the clip) and shifts by Linear(mean of z), one value per channel, so the decoder cannot be expressed"
            + " in TokenizerConfig (docs/import.md)")
    }
}

/// A few of a state dict's names, for messages about what a file holds.
func describe(_ tensors: [String: Tensor]) -> String {
    let names = tensors.keys.sorted()
    return "it holds \(names.count) tensors" + (names.isEmpty ? "" : ": " + names.prefix(3).joined(separator: ", ") + (names.count > 3 ? ", ..." : ""))
}
