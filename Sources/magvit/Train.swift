// `magvit train CONFIG`: trains a tokenizer from a config file (JSON or YAML; see configs/ and
// docs/training.md) into an output folder holding the log, sample grids, checkpoint and the
// final tokenizer.
import ArgumentParser
import Foundation
import Harness
import Torch
import Training

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a tokenizer from a config file (reconstruction, perceptual, GAN and LFQ losses).",
        discussion: """
            Example: magvit train configs/fashion-mnist.yaml -o runs/fmnist
            The folder gets config.json, log.jsonl (one JSON object per log step and evaluation), samples/*.png,
            checkpoint.safetensors (everything needed to resume exactly) and tokenizer.safetensors (the final
            EMA weights, usable with --checkpoint). Settings can be overridden: --set run.steps=500 --set loss.perceptualWeight=0.1
            """)

    @Argument(help: "Config file (.yaml, .yml or .json).") var config: String
    @Option(name: .shortAndLong, help: "Output folder.") var output: String
    @OptionGroup var overrides: RunOverrides
    @Flag(help: "Continue the run in the output folder from its last checkpoint.") var resume = false

    func run() throws {
        var settings = try TrainingConfig.load(URL(fileURLWithPath: config), assignments: overrides.all)
        let parallel = try overrides.join(&settings.run)
        let perceptual = try perceptualDistance(settings)
        let trainer = try TokenizerTrainer(config: settings, directory: URL(fileURLWithPath: output), resume: resume,
                                           perceptual: perceptual, parallel: parallel, echo: streamLine)
        try trainer.train()
    }
}

/// Writes a line to standard output at once (print is buffered when piped, and logs should stream).
func streamLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Settings of a training config given on the command line: --set key.path=value, and --device and
/// --threads as on the other commands (they override run.device and run.threads).
struct RunOverrides: ParsableArguments {
    @Option(name: .customLong("set"), help: "Override one setting: key.path=value (repeatable).") var assignments: [String] = []
    @Option(help: "Device to train on: cpu, cuda or cuda:N (overrides run.device).") var device: String?
    @Option(help: "CPU threads for libtorch's kernels (overrides run.threads).") var threads: Int?
    @Option(help: ArgumentHelp("Rendezvous of a multi-process run (instead of MASTER_ADDR/MASTER_PORT); rank and world size come from RANK/WORLD_SIZE (torchrun, magvit launch) or SLURM.",
                               valueName: "tcp://host:port"))
    var distUrl: String?

    /// Joins the data-parallel group the environment describes (nil for one process); a CUDA device
    /// becomes the local rank's GPU.
    func join(_ run: inout RunConfig) throws -> DataParallel? {
        guard let environment = try DistributedEnvironment.detect(distURL: distUrl) else { return nil }
        if case .cuda = run.device.device { run.device = DeviceSetting(.cuda(environment.localRank)) }
        return try environment.join(timeout: run.collectiveTimeout, backend: run.backend.resolved(for: run.device.device))
    }

    var all: [String] {
        assignments + (device.map { ["run.device=\($0)"] } ?? []) + (threads.map { ["run.threads=\($0)"] } ?? [])
    }
}
