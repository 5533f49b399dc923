// `magvit selfcheck`: versions, devices and a small training step, to show the installation works.
import ArgumentParser
import Foundation
import NN
import Torch

struct SelfCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selfcheck",
        abstract: "Print versions and devices, then train a tiny causal 3D conv net for a few steps."
    )

    @OptionGroup var runtime: RuntimeOptions

    @Option(help: "Training steps to run.")
    var steps: Int = 30

    func run() throws {
        let device = try runtime.apply()
        print("magvit \(Magvit.version)")
        print("libtorch \(Torch.version), \(Torch.threads) CPU threads")
        print("CUDA: \(Torch.cudaAvailable ? "\(Torch.cudaDeviceCount) device(s)" : "not available")")
        print("device: \(device)")
        guard steps > 0 else { throw ValidationError("--steps must be positive, got \(steps)") }

        // A conv3d -> group norm -> SiLU -> conv3d net learns to reproduce a fixed 5-frame clip.
        Torch.manualSeed(0)
        let store = ParameterStore(device: device)
        let first = try Conv(store.root("conv1"), inputChannels: 3, outputChannels: 16, kernelSize: [3, 3, 3], padding: [1])
        let norm = try GroupNorm(store.root("norm"), groups: 4, channels: 16)
        let second = try Conv(store.root("conv2"), inputChannels: 16, outputChannels: 3, kernelSize: [3, 3, 3], padding: [1])
        let optimizer = AdamW(store.parameters, learningRate: 3e-3, weightDecay: 0)
        let clip = try Tensor.randn([2, 3, 5, 16, 16], device: device)
        var losses: [Double] = []
        let start = Date()
        for _ in 0..<steps {
            try optimizer.zeroGrad()
            let loss = try mseLoss(second(norm(first(clip)).silu()), clip)
            try loss.backward()
            try clipGradientNorm(store.parameters, maxNorm: 1)
            try optimizer.update()
            losses.append(try loss.item())
        }
        let seconds = Date().timeIntervalSince(start)
        print(String(format: "train: %d steps, %d parameters, loss %.4f -> %.4f, %.1f steps/s",
                     steps, store.parameterCount, losses.first!, losses.last!, Double(steps) / seconds))
        guard losses.last! < losses.first! else {
            throw ToolError("self-check failed: the loss did not fall (\(losses.first!) -> \(losses.last!))")
        }
        print("self-check passed")
    }
}
