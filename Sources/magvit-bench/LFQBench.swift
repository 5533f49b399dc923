// `magvit-bench lfq`: peak memory of one LFQ loss + backward step at 2^18 codes on 4096 tokens, ours
// (grouped codebook entropy) against Open-MAGVIT2 and vector-quantize-pytorch (which build
// tokens × 2^18 tensors), in one run.
import Foundation
import Tokenizer
import Torch

func runLFQBench(_ arguments: [String]) throws {
    var python = defaultPython()
    var tokens = 4096
    var deviceName = "cpu"
    var rest = ArgumentList(arguments)
    while let flag = rest.next() {
        switch flag {
        case "--python": python = try rest.value(flag)
        case "--tokens": tokens = try rest.integer(flag)
        case "--device": deviceName = try rest.value(flag)
        default: throw BenchError("unknown option '\(flag)'; usage: magvit-bench lfq [--python PATH] [--tokens N] [--device cpu|cuda]")
        }
    }
    let device = try Device(parsing: deviceName)
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
    guard let python else { print("peers: skipped (give --python PATH with torch, open-magvit2 and vector-quantize-pytorch)"); return }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("benchmarks/lfq_memory.py")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script.path, "--tokens", "\(tokens)", "--device", device == .cpu ? "cpu" : "cuda"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw BenchError("the Python side failed: \(String(decoding: data, as: UTF8.self))")
    }
    for peer in ["open_magvit2", "vector_quantize_pytorch"] {
        let r = json[peer] as? [String: Any] ?? [:]
        if let peak = r["peak_bytes"] as? Int {
            print(String(format: "%@: peak %.1f MiB, ratio ours/theirs %.4f", peer, Double(peak) / 1048576, Double(ours) / Double(peak)))
        } else {
            print("\(peer): \(r["error"] ?? "no result")")
        }
    }
}
