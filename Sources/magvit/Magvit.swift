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
        subcommands: [Encode.self, Tokenize.self, Decode.self, Reconstruct.self, Compress.self, Decompress.self, Info.self, Import.self, Evaluate.self, Train.self, TrainGenerator.self, TrainClassifier.self, Classify.self, Launch.self, Generate.self, Predict.self, Frames.self, Presets.self, SelfCheck.self]
    )

    static func main() {
        // A closed ffmpeg pipe is then a write error that carries ffmpeg's own message, not a silent death by SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        // Past a file size limit (ulimit -f) a write fails with EFBIG, reported like a full disk.
        signal(SIGXFSZ, SIG_IGN)
        // Interrupted: temporary outputs removed, ffmpeg children stopped, one line said, exit 128 + the signal.
        let arguments = Array(CommandLine.arguments.dropFirst())
        Interruption.message = interruptionLine(command: arguments.first)
        OutputFiles.installSignalCleanup()
        Train.registerRecipes()
        if let unknown = CommandNames.unknown(in: arguments, under: Magvit.self) {
            FileHandle.standardError.write(Data((unknown + "\n").utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        main(arguments)
    }

    /// What an interrupted command says: outputs are renamed into place only when complete, so
    /// nothing was written, but a token dataset keeps its finished shards, and the ranks of a launch
    /// speak for themselves (a trainer replaces the line with its step and checkpoint once it runs).
    static func interruptionLine(command: String?) -> String? {
        switch command {
        case "tokenize": "interrupted; the finished shards are kept: run the same command again to go on"
        case "launch": nil
        default: "interrupted; nothing written (unfinished outputs removed)"
        }
    }
}

/// A failure that is not a wrong use of the command line (a missing file, a failed check): printed as
/// `Error: message` with exit status 1. `ValidationError` stays for wrong options and values, which
/// print the usage with status 64 (docs/media.md).
struct ToolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
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
