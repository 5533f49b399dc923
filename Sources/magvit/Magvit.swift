// The `magvit` command-line tool.
import ArgumentParser
import Foundation
import Torch

@main
struct Magvit: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "magvit",
        abstract: "MAGVIT-v2 video tokenizer toolkit on libtorch.",
        version: version,
        subcommands: [Encode.self, Tokenize.self, Decode.self, Reconstruct.self, Compress.self, Decompress.self, Info.self, Evaluate.self, Train.self, TrainGenerator.self, TrainClassifier.self, Classify.self, Launch.self, Generate.self, Predict.self, Frames.self, Presets.self, SelfCheck.self],
        defaultSubcommand: SelfCheck.self
    )

    static func main() {
        // A closed ffmpeg pipe is then a write error that carries ffmpeg's own message, not a silent death by SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        // Past a file size limit (ulimit -f) a write fails with EFBIG, reported like a full disk.
        signal(SIGXFSZ, SIG_IGN)
        // Interrupted: temporary outputs removed, ffmpeg children stopped, exit 128 + the signal.
        OutputFiles.installSignalCleanup()
        main(nil)
    }
}

/// Options shared by commands that run models.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "Device to run on: cpu, cuda or cuda:N.")
    var device: String = "cpu"

    @Option(help: "CPU threads for libtorch's kernels (default: libtorch's choice).")
    var threads: Int?

    func apply() throws -> Device {
        if let threads {
            guard threads > 0 else { throw ValidationError("--threads must be positive, got \(threads)") }
            Torch.threads = threads
        }
        let device: Device
        do { device = try Device(parsing: self.device) } catch { throw ValidationError("--device: \(error.message)") }
        do { try device.checkAvailable() } catch { throw ValidationError("--device: \(error.message)") }
        return device
    }
}
