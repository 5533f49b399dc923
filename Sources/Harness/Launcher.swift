// `magvit launch`: starts the ranks of a data-parallel run on this machine, as torchrun does
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT in each environment),
// forwards SIGINT/SIGTERM/SIGHUP to them, and stops all of them when one fails. The ranks die with
// the launcher: killed by SIGKILL, which it cannot forward, it leaves none running.
import Foundation
import Torch

public enum Launcher {
    /// Runs `processes` copies of `executable arguments` and waits for them; returns 0 when all
    /// succeed, otherwise the first failure's status (128 + signal for a signal). `port` 0 picks a
    /// free port. `say` gets a line for each failure.
    public static func run(executable: String, arguments: [String], processes: Int, host: String = "127.0.0.1", port: Int = 0,
                           grace: Double = 10, say: @escaping (String) -> Void) throws -> Int32 {
        guard processes >= 1 else { throw ConfigError("--nproc must be at least 1, got \(processes)") }
        let port = port == 0 ? try freePort() : port
        var children: [Process] = []
        let base = ProcessInfo.processInfo.environment
        for rank in 0..<processes {
            // Started on this thread, which waits for the ranks to the end: the parent-death signal
            // follows the thread that started a child.
            let child = ChildProcesses.dyingWithParent(executable, arguments)
            child.environment = base.merging(["RANK": "\(rank)", "WORLD_SIZE": "\(processes)", "LOCAL_RANK": "\(rank)",
                                              "LOCAL_WORLD_SIZE": "\(processes)", "MASTER_ADDR": host, "MASTER_PORT": "\(port)"]) { $1 }
            do { try child.run() } catch {
                children.forEach { $0.terminate() }
                throw ConfigError("cannot start rank \(rank) (\(executable)): \(error.localizedDescription)")
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
        while children.contains(where: \.isRunning) {
            if failure == 0, let (rank, child) = children.enumerated().first(where: { !$0.element.isRunning && status($0.element) != 0 }) {
                failure = status(child)
                let how = child.terminationReason == .uncaughtSignal ? "was killed by signal \(child.terminationStatus)" : "exited with status \(child.terminationStatus)"
                say("launch: rank \(rank) (pid \(child.processIdentifier)) \(how); stopping the other ranks")
                stop(children, grace: grace)
            }
            usleep(50_000)
        }
        if failure == 0, let (rank, child) = children.enumerated().first(where: { status($0.element) != 0 }) {
            failure = status(child)
            say("launch: rank \(rank) failed with status \(failure)")
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
