// `magvit train [RECIPE] CONFIG`: trains a registered recipe (a tokenizer by default) from a
// config file (JSON or YAML; see configs/ and docs/training.md) into an output folder holding the
// log, sample grids, checkpoint and the final model.
import ArgumentParser
import Classifier
import Foundation
import Generator
import Harness
import Torch
import TokenizerTraining

struct Train: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            abstract: "Train a model from a config file by its recipe (a tokenizer when only a config is given).",
            discussion: """
                Recipes:
                \(Recipes.names.map { "  \($0): \((try? Recipes.named($0))?.abstract ?? "")" }.joined(separator: "\n"))
                Examples: magvit train configs/fashion-mnist.yaml -o runs/fmnist
                          magvit train generator configs/fashion-mnist-generator.yaml -o runs/generator
                The folder gets config.json, log.jsonl (one JSON object per log step and evaluation), samples/*.png, \
                checkpoint.safetensors (everything needed to resume exactly) and the final model (the tokenizer's \
                tokenizer.safetensors: the EMA weights, usable with --checkpoint). Settings can be overridden: \
                --set run.steps=500 --set loss.perceptualWeight=0.1
                """)
    }

    @Argument(help: "The recipe (tokenizer when left out), or the config file.") var recipeOrConfig: String
    @Argument(help: "The config file (.yaml, .yml or .json), after a recipe.") var config: String?
    @OptionGroup var training: RecipeRun

    func run() throws {
        if let config { return try training.train(recipeOrConfig, config: config) }
        if Recipes.names.contains(recipeOrConfig) { throw ValidationError("give the config file after the recipe: magvit train \(recipeOrConfig) CONFIG -o RUN") }
        try training.train(TokenizerTrainer.name, config: recipeOrConfig)
    }

    /// The recipes `train` and `launch` know: one line each.
    static func registerRecipes() {
        Recipes.register(TokenizerTrainer.self)
        Recipes.register(GeneratorTrainer.self)
        Recipes.register(ClassifierTrainer.self)
    }
}

/// What every training command takes besides its recipe and config, and the one way it trains.
struct RecipeRun: ParsableArguments {
    @Option(name: .shortAndLong, help: "Output folder.") var output: String
    @OptionGroup var overrides: RunOverrides
    @Flag(help: "Continue the run in the output folder from its last checkpoint.") var resume = false

    func train(_ recipe: String, config: String) throws {
        let entry: Recipes.Entry
        do { entry = try Recipes.named(recipe) } catch let error as ConfigError { throw ValidationError(error.message) }
        try entry.train(URL(fileURLWithPath: config), overrides.all, URL(fileURLWithPath: output), resume, overrides.join, streamLine)
    }
}

/// `magvit train-RECIPE CONFIG` (train-generator, train-classifier): `magvit train RECIPE CONFIG` under
/// the names these commands had before recipes, described by the recipe's own line.
struct RecipeAlias: ParsableArguments {
    @Argument(help: "Config file (.yaml, .yml or .json).") var config: String
    @OptionGroup var training: RecipeRun

    func train<R: Recipe>(_ recipe: R.Type) throws { try training.train(R.name, config: config) }

    /// The alias's name and help: the recipe's line, an example and what the run folder gets.
    static func configuration<R: Recipe>(_ recipe: R.Type, example: String, folder: String) -> CommandConfiguration {
        CommandConfiguration(commandName: "train-\(R.name)", abstract: "Train \(R.abstract); the same as magvit train \(R.name).",
                             discussion: "Example: magvit train-\(R.name) \(example)\nThe folder gets \(folder)")
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
