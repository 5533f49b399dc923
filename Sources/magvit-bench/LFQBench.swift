// `magvit-bench lfq`: peak memory of one LFQ loss + backward step at 2^18 codes on 4096 tokens, ours
// (grouped codebook entropy) against Open-MAGVIT2 and vector-quantize-pytorch (which build
// tokens × 2^18 tensors), in one run.
import ArgumentParser
import Foundation
import Tokenizer
import Torch

struct LFQBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lfq",
        abstract: "Peak memory of an LFQ loss + backward step at 2^18 codes against Open-MAGVIT2 and vector-quantize-pytorch.")

    @OptionGroup var python: PythonOption
    @Option(help: "Tokens in the step.") var tokens = 4096
    @OptionGroup var device: DeviceOption

    func validate() throws { try requirePositive(["--tokens": tokens]) }

    func run() throws {
        let device = try self.device.resolved()
        let lfq = LookupFreeQuantizer(config: QuantizerConfig(kind: .lfq, bits: 18))
        let z = try (Tensor.randn([1, 18, 1, 1, tokens], device: device) * 0.01).requiresGrad(true)
        try Torch.synchronize()
        let baseline = try resetPeakMemory(device)
        let start = now()
        let q = try lfq(z)
        try (q.loss + q.latents.square().mean()).backward()
        try Torch.synchronize()
        let seconds = now() - start
        let ours = try peakMemory(device, since: baseline) - (device == .cpu ? 0 : z.count * 4)
        print(String(format: "LFQ 2^18 codes, %d tokens, loss + backward on %@: ours peak %.1f MiB (%.3f s)", tokens, "\(device)",
                     Double(ours) / 1048576, seconds))
        guard let python = python.resolved else {
            print("peers: skipped (give --python PATH with torch, open-magvit2 and vector-quantize-pytorch)")
            return
        }
        let json = try runPeer(python, script: "lfq_memory.py", ["--tokens", "\(tokens)", "--device", device == .cpu ? "cpu" : "cuda"],
                               peer: "Python")
        for peer in ["open_magvit2", "vector_quantize_pytorch"] {
            let r = json[peer] as? [String: Any] ?? [:]
            if let peak = r["peak_bytes"] as? Int {
                print(String(format: "%@: peak %.1f MiB, ratio ours/theirs %.4f", peer, Double(peak) / 1048576, Double(ours) / Double(peak)))
            } else {
                print("\(peer): \(r["error"] ?? "no result")")
            }
        }
    }
}
