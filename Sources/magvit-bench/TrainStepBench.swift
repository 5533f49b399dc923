// `magvit-bench train-step`: one tokenizer training step (forward, LFQ and reconstruction losses,
// perceptual and GAN with --losses full, backward, the optimizer, EMA) of ours against the PyTorch
// peers, each side alternated in the same run:
//   open-magvit2      Open-MAGVIT2's image tokenizer and its training losses (VQLPIPSWithDiscriminator,
//                     Adam, LitEma) holding our weights (image-128, or --small), on 128×128 images;
//   magvit2-pytorch   lucidrains' VideoTokenizer at the video-small layout (17×64×64 clips, channels
//                     32-64-64-128, 4× time, 8× space; three of its light residual units a level give
//                     the FLOPs of our blocks) and its own losses.
// Steps/s, clips/s, peak memory; FLOPs of a step (ours counted forward ×3, theirs by
// torch.utils.flop_counter) against the machine's peak, measured with a large matmul in the same run.
import ArgumentParser
import Dataset
import Foundation
import Harness
import Metrics
import NN
import Tokenizer
import Torch
import TokenizerTraining

struct TrainStepBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-step",
        abstract: "One tokenizer training step against Open-MAGVIT2 and magvit2-pytorch, alternated in one run.")

    enum Peer: String, ExpressibleByArgument, CaseIterable { case openMagvit2 = "open-magvit2", magvit2Pytorch = "magvit2-pytorch", both }
    enum Losses: String, ExpressibleByArgument, CaseIterable {
        /// Reconstruction + LFQ commitment, no entropy penalty: the networks and the optimizer alone.
        case network
        /// Reconstruction + LFQ (entropy, commitment) only: the same objective on every side.
        case reconstruction
        /// Each project's full recipe: + perceptual (VGG) and GAN (discriminator step, LeCAM or gradient penalty).
        case full
    }

    @Option(help: "Which peer: open-magvit2, magvit2-pytorch or both.") var peer = Peer.both
    @Option(help: "network (recon + commitment), reconstruction (+ LFQ entropy; both matched exactly) or full (+ each side's perceptual and GAN recipe).") var losses = Losses.reconstruction
    @Option(help: "Images (open-magvit2) or clips (magvit2-pytorch) per step.") var batch = 2
    @Flag(name: .customLong("small"), help: "Base channels 32 for the image-128 model.") var smallModel = false
    @Option(help: "Untimed steps first, each round.") var warmup = 1
    @Option(help: "Timed steps each round.") var iterations = 3
    @Option(help: "Rounds, alternating ours and theirs.") var rounds = 2
    @Flag(help: "Ours alone: skip the Python side (profiles, FLOP/s).") var oursOnly = false
    @Option(help: "With --ours-only, train this preset (magvit presets) with the peer's recipe, e.g. video-128.") var preset: String?
    @Flag(help: "Also profile one step of each side: the top ops by self time (the peer's on stderr).") var profile = false
    @Option(help: "With --profile, also write the step's Chrome trace here (chrome://tracing, Perfetto).") var trace: String?
    @OptionGroup var python: PythonOption
    @OptionGroup var cpu: ThreadsOption
    @OptionGroup var device: DeviceOption

    func validate() throws {
        try requirePositive(["--batch": batch, "--warmup": warmup, "--iterations": iterations, "--rounds": rounds])
        if let preset {
            guard oursOnly else { throw ValidationError("--preset needs --ours-only: the peers run their matched layouts") }
            guard TokenizerConfig.presets[preset] != nil else {
                throw ValidationError("--preset \(preset) is not a preset; presets: \(TokenizerConfig.presets.keys.sorted().joined(separator: ", "))")
            }
        }
    }

    func run() throws {
        let device = try self.device.resolved()
        cpu.apply()
        // On a GPU the recipe runs under bf16 autocast, so its peak is bf16's.
        let dtype: DType = device == .cpu ? .float32 : .bfloat16
        let peak = try machinePeak(device, dtype: dtype)
        print(String(format: "machine peak (%@, the better of a 4096² matmul and a 3x3 convolution, %@, %d threads): %.1f GFLOP/s", "\(dtype)", "\(device)", cpu.threads, peak / 1e9))
        DataSources.register(benchInputs) { _, _, _ in BenchInputs() }
        let peers: [Peer] = peer == .both ? [.openMagvit2, .magvit2Pytorch] : [peer]
        for p in peers { try compare(p, device: device, peak: peak) }
    }
}

extension TrainStepBench {
    /// Our model and trainer settings for a peer, and the peer's script.
    func setup(_ peer: Peer, device: Device) throws -> (TokenizerTrainingConfig, script: String) {
        var model: TokenizerConfig, l = LossConfig()
        let chosen = preset.flatMap { TokenizerConfig.presets[$0] }
        if peer == .openMagvit2 {
            // Open-MAGVIT2's recipe (configs/imagenet_lfqgan_128_B.yaml): L1, LPIPS weight 1, LFQ entropy 0.1
            // (enlarged ×3 over 2000 steps), commitment 0.25; generator GAN weight 0.1, LeCAM 0.05, non-saturating.
            model = chosen ?? .image128
            if smallModel { model.baseChannels = 32 }
            l.reconstruction = .l1
            if losses == .full {
                l.perceptualWeight = 1
                l.adversarialWeight = 0.1
                l.lecamWeight = 0.05
                l.discriminatorLoss = .nonSaturating
                l.discriminatorChannels = 64  // their PatchGAN's ndf
            }
        } else {
            // magvit2-pytorch's defaults: MSE, VGG perceptual 0.1, hinge GAN weight 1 (adaptive), gradient penalty.
            model = chosen ?? .videoSmall
            l.reconstruction = .l2
            if losses == .full {
                l.perceptualWeight = 0.1
                l.adversarialWeight = 1
                l.r1Weight = 10
            }
        }
        l.discriminatorStart = 0
        if losses == .network { model.quantizer.lfq.entropyWeight = 0 }
        var config = TokenizerTrainingConfig(model: model)
        config.loss = l
        config.data.kind = benchInputs
        config.initialization = .random
        config.optimizer.learningRate = 1e-4
        config.optimizer.betas = [0.5, 0.9]
        config.optimizer.weightDecay = 0
        config.optimizer.clipNorm = 0
        config.run.batch = batch
        config.run.emaDecay = 0.999
        config.run.device = DeviceSetting(device)
        config.run.threads = cpu.threads
        return (config, peer == .openMagvit2 ? "open_magvit2_train_step.py" : "magvit2_pytorch_train_step.py")
    }

    func compare(_ peer: Peer, device: Device, peak: Double) throws {
        let (config, script) = try setup(peer, device: device)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-bench-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let perceptual = try TokenizerTrainer.perceptualDistance(config)  // VGG, as both peers
        Torch.manualSeed(0)
        let trainer = try TokenizerTrainer(config: config, directory: folder.appendingPathComponent("run"), resume: false,
                                           perceptual: perceptual, echo: { _ in })
        let m = config.model
        let x = try Tensor.rand([batch, m.imageChannels, m.clipFrames, m.resolution, m.resolution]) * 2 - 1
        try SafeTensors.write(["inputs": x], to: folder.appendingPathComponent("inputs.safetensors"))
        if peer == .openMagvit2 && !oursOnly { try exportForOpenMagvit2(trainer.model, to: folder) }
        let shape = "\(batch)x\(m.clipFrames)x\(m.resolution)x\(m.resolution)"
        print("\n\(peer.rawValue): \(m.name) (base \(m.baseChannels), \(trainer.model.parameterCount / 1000)k parameters), batch \(shape), losses \(losses.rawValue)")

        // FLOPs of one step: our counter sees the forward ops (backward ≈ 2× forward).
        let x0 = try x.to(device)
        func step(_ index: Int) throws -> [String: Double] {
            try trainer.step((clips: x0, images: nil), context: StepContext(step: index, learningRate: 1e-4, device: device,
                                                                            mixedPrecision: config.run.mixedPrecision))
        }
        let (firstValues, forwardFlops) = try FlopCounter.count { try step(0) }
        let ourFlops = Double(3 * forwardFlops)
        var ours: [Double] = [], theirs: [Double] = [], ourPeak = 0, theirPeak = 0, theirFlops = 0.0, torchVersion = "?"
        var index = 1
        for round in 0..<rounds {
            let baseline = try resetPeakMemory(device)
            var times: [Double] = []
            for i in 0..<(warmup + iterations) {
                try Torch.synchronize()
                let t0 = now()
                _ = try step(index)
                index += 1
                try Torch.synchronize()
                if i >= warmup { times.append(now() - t0) }
            }
            ourPeak = Swift.max(ourPeak, try peakMemory(device, since: baseline))
            ours += times
            print(String(format: "round %d ours:   %@ s/step", round + 1, times.map { String(format: "%.3f", $0) }.joined(separator: " ")))
            guard !oursOnly, let python = python.resolved else {
                if !oursOnly { print("\(peer.rawValue): skipped (give --python PATH to a Python with the peer; scripts/bench-venv.sh makes one)") }
                break
            }
            let json = try runPeer(python, script: script, [
                folder.path, "--losses", losses.rawValue, "--threads", "\(cpu.threads)", "--warmup", "\(warmup)",
                "--iterations", "\(iterations)", "--device", device == .cpu ? "cpu" : "cuda",
            ] + (config.run.mixedPrecision && device != .cpu ? ["--bf16"] : []) + (profile && round == 0 ? ["--profile"] : []), peer: peer.rawValue)
            guard let t = json["step_s"] as? [Double], !t.isEmpty else { throw BenchError("the \(peer.rawValue) side gave no times: \(json)") }
            theirs += t
            theirPeak = Swift.max(theirPeak, json["peak_bytes"] as? Int ?? 0)
            theirFlops = json["flops"] as? Double ?? 0
            torchVersion = json["torch"] as? String ?? "?"
            print(String(format: "round %d theirs: %@ s/step", round + 1, t.map { String(format: "%.3f", $0) }.joined(separator: " ")))
            if round == 0, let l = json["first_reconstruction"] as? Double, let mine = firstValues["reconstruction"] {
                print(String(format: "first step's reconstruction loss: ours %.6f, theirs %.6f%@", mine, l,
                             peer == .openMagvit2 ? " (same weights, same inputs)" : " (own random weights)"))
            }
        }
        if profile {
            let (_, ops) = try Profiler.profile(cuda: device != .cpu, trace: trace.map { URL(fileURLWithPath: $0) }) { try step(index) }
            print("profile of one step of ours (\(peer.rawValue), losses \(losses.rawValue)):\n\(Profiler.table(ops))")
        }
        let mine = median(ours), peerTime = median(theirs)
        let clips = Double(batch)
        print(String(format: "ours:   %.3f s/step, %.2f steps/s, %.2f clips/s, peak %d MiB, %.1f GFLOP/step (3x forward), %.1f GFLOP/s = %.1f%% of peak",
                     mine, 1 / mine, clips / mine, ourPeak >> 20, ourFlops / 1e9, ourFlops / mine / 1e9, 100 * ourFlops / mine / peak))
        guard !theirs.isEmpty else { return }
        print(String(format: "theirs (%@, torch %@): %.3f s/step, %.2f steps/s, %.2f clips/s, peak %d MiB, %.1f GFLOP/step (counted), %.1f GFLOP/s = %.1f%% of peak",
                     peer.rawValue, torchVersion, peerTime, 1 / peerTime, clips / peerTime, theirPeak >> 20, theirFlops / 1e9,
                     theirFlops / peerTime / 1e9, 100 * theirFlops / peerTime / peak))
        print(String(format: "ratio ours/theirs (%@, %@): step throughput %.2fx, peak memory %.2f (targets: throughput >= 1.3, memory <= 1)",
                     peer.rawValue, losses.rawValue, peerTime / mine, Double(ourPeak) / Double(Swift.max(theirPeak, 1))))
    }

    /// The machine's peak in `dtype`: the better of a large matmul and a large 3×3 convolution (the
    /// BLAS and oneDNN or cuBLAS and cuDNN both sides use), each the fastest of several calls.
    func machinePeak(_ device: Device, dtype: DType) throws -> Double {
        let n = 4096
        let a = try Tensor.randn([n, n], device: device).to(dtype), b = try Tensor.randn([n, n], device: device).to(dtype)
        let x = try Tensor.randn([8, 256, 64, 64], device: device).to(dtype), w = try Tensor.randn([256, 256, 3, 3], device: device).to(dtype)
        let work: [(flops: Double, run: () throws -> Tensor)] = [
            (2 * Double(n * n * n), { try matmul(a, b) }),
            (2 * 8 * 256 * 256 * 9 * 64 * 64, { try conv(x, weight: w, padding: [1]) }),
        ]
        var peak = 0.0
        for (flops, run) in work {
            for _ in 0..<(device == .cpu ? 4 : 20) {
                try Torch.synchronize()
                let t0 = now()
                _ = try run()
                try Torch.synchronize()
                peak = Swift.max(peak, flops / (now() - t0))
            }
        }
        return peak
    }
}

private func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// The data kind the benchmark's trainer is built with; its batches are never drawn (the benchmark
/// feeds the same inputs to both sides).
private let benchInputs: DataKind = "bench-inputs"

private final class BenchInputs: ClipSource {
    var summary: String { "the benchmark's inputs" }
    var count: Int? { nil }
    var classes: Int { 0 }
    func batch(step: Int, size: Int) throws -> Clips { throw BenchError("the benchmark feeds its own inputs") }
    func heldOut(limit: Int) throws -> Clips? { nil }
}
