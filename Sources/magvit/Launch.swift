// `magvit launch --nproc N -- train CONFIG -o RUN`: the ranks of a data-parallel run on this
// machine, without torchrun (docs/distributed.md).
import ArgumentParser
import Foundation
import Harness
import Torch

struct Launch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a magvit command as N data-parallel processes on this machine (like torchrun --standalone).",
        discussion: """
            Example: magvit launch --nproc 2 -- train configs/fashion-mnist.yaml -o runs/fmnist-2
            Each process gets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; signals are forwarded,
            and when one process fails the others get --grace seconds to notice and stop by themselves, then SIGTERM,
            then SIGKILL after another --grace seconds.
            """)

    @Option(help: "Processes to start.") var nproc: Int
    @Option(help: "Port of the rendezvous store (0: a free one).") var masterPort = 0
    @Option(help: "Seconds the other ranks get to stop by themselves after a failure, and again between SIGTERM and SIGKILL.") var grace = 10.0
    @Argument(parsing: .captureForPassthrough, help: "The magvit command each process runs (after --).") var command: [String]

    func run() throws {
        do { _ = try Checked.finite(grace, "--grace", in: 0...86_400) } catch { throw ValidationError(error.description) }
        let arguments = command.first == "--" ? Array(command.dropFirst()) : command
        // The training commands: train (any recipe) and train-RECIPE where the tool has that alias.
        let commands = ["train"] + Recipes.names.map { "train-\($0)" }.filter { name in Magvit.configuration.subcommands.contains { $0._commandName == name } }
        guard let first = arguments.first, commands.contains(first) else {
            throw ValidationError("launch runs \(commands.joined(separator: ", ")): magvit launch --nproc N -- train [RECIPE] CONFIG -o RUN")
        }
        let status = try Launcher.run(executable: Bundle.main.executablePath ?? CommandLine.arguments[0],
                                      arguments: arguments, processes: nproc, port: masterPort, grace: grace) {
            FileHandle.standardError.write(Data(($0 + "\n").utf8))
        }
        if status != 0 { throw ExitCode(status) }
    }
}
