// `magvit launch --nproc N -- train CONFIG -o RUN`: the ranks of a data-parallel run on this
// machine, without torchrun; with --nnodes/--node-rank/--master-addr/--master-port, this node's ranks
// of a run over several machines, as torchrun's multi-node form (docs/distributed.md).
import ArgumentParser
import Foundation
import Harness
import Torch

struct Launch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a magvit command as N data-parallel processes on this machine (like torchrun --standalone), or as this node's N processes of a run over several machines.",
        discussion: """
            Example: magvit launch --nproc 2 -- train configs/fashion-mnist.yaml -o runs/fmnist-2
            Two machines, 4 processes each (on node0, and with --node-rank 1 on the other; the run folder on a shared file system):
              magvit launch --nnodes 2 --node-rank 0 --nproc 4 --master-addr node0 --master-port 29500 -- train CONFIG -o /shared/RUN
            Each process gets RANK (node-rank × nproc + LOCAL_RANK), WORLD_SIZE (nnodes × nproc), LOCAL_RANK, LOCAL_WORLD_SIZE,
            GROUP_RANK (the node rank), MASTER_ADDR and MASTER_PORT; signals are forwarded,
            and when one process fails the others get --grace seconds to notice and stop by themselves, then SIGTERM,
            then SIGKILL after another --grace seconds.
            """)

    @Option(help: "Processes to start (on this node).") var nproc: Int
    @Option(help: "Nodes (machines) of the run, each running one launcher with the same options but --node-rank.") var nnodes = 1
    @Option(help: "This node's number, 0..<nnodes; node 0's first rank serves the rendezvous.") var nodeRank = 0
    @Option(help: "Node 0's address, one every node can reach (needed with --nnodes > 1; default 127.0.0.1 on one node).") var masterAddr: String?
    @Option(help: "Port of the rendezvous store on node 0 (0: a free one, on one node only).") var masterPort = 0
    @Option(help: "Seconds the other ranks get to stop by themselves after a failure, and again between SIGTERM and SIGKILL.") var grace = 10.0
    @Argument(parsing: .captureForPassthrough, help: "The magvit command each process runs (after --).") var command: [String]

    func run() throws {
        do {
            _ = try Checked.finite(grace, "--grace", in: 0...86_400)
            try Launcher.check(processes: nproc, nodes: nnodes, nodeRank: nodeRank, host: masterAddr ?? (nnodes > 1 ? nil : "127.0.0.1"), port: masterPort)
        } catch { throw ValidationError("\(error)") }
        let arguments = command.first == "--" ? Array(command.dropFirst()) : command
        // The training commands: train (any recipe) and train-RECIPE where the tool has that alias.
        let commands = ["train"] + Recipes.names.map { "train-\($0)" }.filter { name in Magvit.configuration.subcommands.contains { $0._commandName == name } }
        guard let first = arguments.first, commands.contains(first) else {
            throw ValidationError("launch runs \(commands.joined(separator: ", ")): magvit launch --nproc N -- train [RECIPE] CONFIG -o RUN")
        }
        let status = try Launcher.run(executable: Bundle.main.executablePath ?? CommandLine.arguments[0],
                                      arguments: arguments, processes: nproc, nodes: nnodes, nodeRank: nodeRank,
                                      host: masterAddr ?? "127.0.0.1", port: masterPort, grace: grace) {
            FileHandle.standardError.write(Data(($0 + "\n").utf8))
        }
        if status != 0 { throw ExitCode(status) }
    }
}
