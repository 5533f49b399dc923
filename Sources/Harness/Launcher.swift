// `magvit launch`: starts the ranks of a data-parallel run on this machine, as torchrun does
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, GROUP_RANK, GROUP_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT in each environment), forwards SIGINT/SIGTERM/SIGHUP to them, and stops all of them
// when one fails. One launcher per node serves a run over several nodes (torchrun's --nnodes,
// --node-rank): node K's local rank L is global rank K·nproc + L of nnodes·nproc, and every node
// meets at node 0's rank 0, which serves the rendezvous at MASTER_ADDR:MASTER_PORT. The ranks die
// with the launcher: killed by SIGKILL, which it cannot forward, it leaves none running.
import Foundation
import Torch

public enum Launcher {
    /// Checks a launch's shape: at least one process and one node, a node rank below the node count,
    /// and with more than one node the rendezvous address every node must be told (a free port
    /// picked on one node cannot be known on the others).
    public static func check(processes: Int, nodes: Int, nodeRank: Int, host: String?, port: Int) throws {
        guard processes >= 1 else { throw ConfigError("--nproc must be at least 1, got \(processes)") }
        guard nodes >= 1 else { throw ConfigError("--nnodes must be at least 1, got \(nodes)") }
        guard (0..<nodes).contains(nodeRank) else {
            throw ConfigError("--node-rank must be 0...\(nodes - 1) with --nnodes \(nodes), got \(nodeRank)")
        }
        guard (0...65535).contains(port) else { throw ConfigError("--master-port must be 1-65535 (or 0 on one node: a free one), got \(port)") }
        guard processes <= Int(Int32.max) / nodes else { throw ConfigError("--nnodes \(nodes) × --nproc \(processes) processes is more than a run can count") }
        if nodes > 1 {
            guard let host, !host.trimmingCharacters(in: .whitespaces).isEmpty, port != 0 else {
                throw ConfigError("--nnodes \(nodes) needs --master-addr HOST (node 0's address, one every node can reach) and --master-port P"
                    + " (the same on every node), got \(host.map { "--master-addr '\(TerminalText.escaped($0))'" } ?? "no --master-addr")"
                    + (port == 0 ? " and no --master-port" : ""))
            }
        }
    }

    /// Runs `processes` copies of `executable arguments` and waits for them; returns 0 when all
    /// succeed, otherwise the first failure's status (128 + signal for a signal). On one node (the
    /// default) `port` 0 picks a free port; on node `nodeRank` of `nodes` the ranks are
    /// nodeRank·processes ..< (nodeRank+1)·processes of nodes·processes and `host`:`port` is node 0's.
    /// `say` gets a line for each failure.
    public static func run(executable: String, arguments: [String], processes: Int, nodes: Int = 1, nodeRank: Int = 0,
                           host: String = "127.0.0.1", port: Int = 0,
                           grace: Double = 10, say: @escaping (String) -> Void) throws -> Int32 {
        try check(processes: processes, nodes: nodes, nodeRank: nodeRank, host: host, port: port)
        let port = port == 0 ? try freePort() : port
        let world = nodes * processes, first = nodeRank * processes
        // The launcher's lines name the node when there are several.
        let prefix = nodes > 1 ? "launch (node \(nodeRank) of \(nodes))" : "launch"
        let others = nodes > 1 ? "stopping this node's other ranks; the other nodes' ranks stop at their next collective" : "stopping the other ranks"
        var children: [Process] = []
        let base = ProcessInfo.processInfo.environment
        for local in 0..<processes {
            // Started on this thread, which waits for the ranks to the end: the parent-death signal
            // follows the thread that started a child.
            let child = ChildProcesses.dyingWithParent(executable, arguments)
            child.environment = base.merging(["RANK": "\(first + local)", "WORLD_SIZE": "\(world)", "LOCAL_RANK": "\(local)",
                                              "LOCAL_WORLD_SIZE": "\(processes)", "GROUP_RANK": "\(nodeRank)", "GROUP_WORLD_SIZE": "\(nodes)",
                                              "MASTER_ADDR": host, "MASTER_PORT": "\(port)"]) { $1 }
            do { try child.run() } catch {
                children.forEach { $0.terminate() }
                throw ConfigError("cannot start rank \(first + local) (\(executable)): \(error.localizedDescription)")
            }
            children.append(child)
        }
        // Signals to the launcher go to every rank; the launcher then waits for them as usual.
        var sources: [DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { for child in children where child.isRunning { kill(child.processIdentifier, signalNumber) } }
            source.resume()
            sources.append(source)
        }
        defer {
            sources.forEach { $0.cancel() }
            for signalNumber in [SIGINT, SIGTERM, SIGHUP] { signal(signalNumber, SIG_DFL) }
        }
        var failure: Int32 = 0
        /// The first rank that failed: its status, and the launcher's line about it.
        func failed() -> (status: Int32, line: String)? {
            guard let (local, child) = children.enumerated().first(where: { !$0.element.isRunning && status($0.element) != 0 }) else { return nil }
            let how = child.terminationReason == .uncaughtSignal ? "was killed by signal \(child.terminationStatus)" : "exited with status \(child.terminationStatus)"
            return (status(child), "\(prefix): rank \(first + local) (pid \(child.processIdentifier)) \(how)")
        }
        while children.contains(where: \.isRunning) {
            if failure == 0, let (status, line) = failed() {
                failure = status
                say("\(line); \(others)")
                stop(children, grace: grace)
            }
            usleep(50_000)
        }
        // Every rank ended between two looks.
        if failure == 0, let (status, line) = failed() {
            failure = status
            say(line)
        }
        return failure
    }

    static func status(_ child: Process) -> Int32 {
        child.terminationReason == .uncaughtSignal ? 128 + child.terminationStatus : child.terminationStatus
    }

    /// Lets the other ranks notice the failure at their next collective and say so (up to `grace`
    /// seconds), then SIGTERM to those still running, and SIGKILL after another `grace` seconds.
    static func stop(_ children: [Process], grace: Double) {
        func wait() {
            let deadline = Date().addingTimeInterval(grace)
            while children.contains(where: \.isRunning), Date() < deadline { usleep(50_000) }
        }
        wait()
        for child in children where child.isRunning { kill(child.processIdentifier, SIGTERM) }
        wait()
        for child in children where child.isRunning { kill(child.processIdentifier, SIGKILL) }
    }

    /// A TCP port no one listens on now (the kernel's choice).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ConfigError("cannot open a socket to find a free port") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ConfigError("cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
