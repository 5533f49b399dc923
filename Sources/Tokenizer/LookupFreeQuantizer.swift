// Lookup-free quantization (MAGVIT-v2 §3.1, Eq. 3 and 5).
//
// Each of the d latent channels is quantized to its sign, q_i = +1 if z_i > 0 else −1, and the token
// id is Σ_i [q_i > 0]·2^i with channel 0 the least significant bit (the paper's Index(z); Open-MAGVIT2's
// order; vector-quantize-pytorch uses the reverse). Gradients pass straight through: q_st = z + sg(q − z).
// The entropy penalty is E[H(p(c|z))] − γ·H(E[p(c|z)]) with p(c|z) = softmax_c(2 z·c / T):
//   - per sample it factorizes per bit, p(c_i = +1 | z) = σ(4 z_i / T), so E[H] costs O(d);
//   - the codebook term −Σ_c p̄_c log(p̄_c + 1e-5) (the official MAGVIT code's form) is exact when
//     d ≤ entropyGroupBits, and otherwise the sum of the entropies of bit groups, never a tokens × 2^d tensor.
// All of this math runs in float32 or wider whatever the autocast state (fp16 here is a known source of NaNs).
import Torch

public final class LookupFreeQuantizer: Quantizer {
    public let config: QuantizerConfig
    /// Turns this process's batch mean of code probabilities into the mean over the global batch of a
    /// data-parallel run (differentiable in the local part), so the codebook entropy is the paper's
    /// H(E[p(c|z)]) over all ranks' tokens. Nil: one process.
    public var globalMean: ((Tensor) throws -> Tensor)?

    public init(config: QuantizerConfig) {
        self.config = config
    }

    /// Powers of two (1, d, 1, 1, 1) for channel-first ids.
    private func powers(_ device: Device) throws -> Tensor {
        try Tensor.arange(0, Double(config.bits), device: device).reshape([1, config.bits, 1, 1, 1])
    }

    public func ids(_ z: Tensor) throws -> Tensor {
        try checkChannels(z)
        return try z.gt(0).to(.int64).shiftedLeft(powers(z.device)).sum(dim: 1)
    }

    public func codes(_ ids: Tensor) throws -> Tensor {
        guard ids.dtype == .int64 || ids.dtype == .int32 else {
            throw TokenizerError.invalidTokens("token ids must be integers, got \(ids.dtype)")
        }
        let bits = try ids.to(.int64).unsqueeze(1).shiftedRight(powers(ids.device)).bitwiseAnd(1)  // (B, d, t, h, w)
        return try bits.to(.float32) * 2 - 1
    }

    public func callAsFunction(_ z: Tensor, step: Int = 0, losses: Bool = true) throws -> Quantization {
        let ids = try self.ids(z)  // checks the latents' shape
        return try withAutocast(device: z.device, enabled: false) {
            let z32 = z.dtype == .float64 ? z : try z.to(.float32)  // at least float32
            let q = try z32.gt(0).to(z32.dtype) * 2 - 1
            let straightThrough = try z + (q.to(z.dtype) - z).detach()
            var terms = LossTerms()
            if losses {
                let flat = try z32.transpose(1, 4).reshape([-1, config.bits])  // (N, d)
                let anneal = 1 + config.lfq.annealRatio * Swift.max(0, 1 - Double(step) / Double(Swift.max(config.lfq.annealSteps, 1)))
                try terms.add("commitment", mseLoss(z32, q.detach()), weight: config.commitmentWeight)
                try terms.add("entropy_sample", perSampleEntropy(flat), weight: config.lfq.entropyWeight * anneal)
                try terms.add("entropy_codebook", codebookEntropy(flat), weight: -config.lfq.diversityGamma * config.lfq.entropyWeight * anneal)
            }
            return Quantization(latents: straightThrough, ids: ids, terms: terms, loss: try terms.total() ?? Tensor.zeros([], device: z.device),
                                codebookSize: config.codebookSize)
        }
    }

    /// E_n Σ_i H_binary(σ(a_ni)) with a = 4z/T, using H = softplus(a) − a·σ(a) (stable for large |a|).
    public func perSampleEntropy(_ flat: Tensor) throws -> Tensor {
        let a = try flat * (4 / config.lfq.temperature)
        return try (a.softplus() - a * a.sigmoid()).sum(dim: 1).mean()
    }

    /// Σ over bit groups of −Σ_c p̄_c log(p̄_c + 1e-5), p̄ the batch mean of softmax_c(2 z_g·c / T).
    public func codebookEntropy(_ flat: Tensor) throws -> Tensor {
        let d = config.bits
        let group = Swift.min(config.lfq.entropyGroupBits, d)
        var total: Tensor?
        for start in stride(from: 0, to: d, by: group) {
            let width = Swift.min(group, d - start)
            let codes = try groupCodes(bits: width, device: flat.device)  // (width, 2^width)
            let logits = try matmul(flat.narrow(1, start: start, length: width), codes.to(flat.dtype)) * (2 / config.lfq.temperature)
            var average = try logits.softmax(dim: 1).mean(dim: 0)  // (2^width)
            if let globalMean { average = try globalMean(average) }
            let h = try -(average * (average + 1e-5).log()).sum()
            total = try total.map { try $0 + h } ?? h
        }
        return total!
    }

    /// Every code of `bits` bits as ±1 columns, bit i of code c in row i (LSB first).
    func groupCodes(bits: Int, device: Device) throws -> Tensor {
        let all = try Tensor.arange(0, Double(1 << bits), device: device).unsqueeze(0)  // (1, 2^bits)
        let shifts = try Tensor.arange(0, Double(bits), device: device).unsqueeze(1)  // (bits, 1)
        return try all.shiftedRight(shifts).bitwiseAnd(1).to(.float32) * 2 - 1
    }

    private func checkChannels(_ z: Tensor) throws {
        guard z.rank == 5, z.size(1) == config.bits else {
            throw TokenizerError.invalidInput("LFQ expects latents (B, \(config.bits), t, h, w), got \(z.shape)")
        }
    }
}
