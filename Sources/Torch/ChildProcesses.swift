// Child processes that die with the process that started them (ffmpeg under a reader or writer, the
// ranks under `magvit launch`): Linux sends a parent-death signal only when asked (prctl
// PR_SET_PDEATHSIG), which Foundation's Process cannot do between fork and exec, so the child is
// started through util-linux's `setpriv --pdeathsig KILL`, which asks and then executes it. The
// kernel sends the signal when the thread that started the child ends, so a child is started on a
// thread that lives as long as the child is needed.
import Foundation

public enum ChildProcesses {
    /// A process of `executable arguments` that is killed (SIGKILL) when its parent dies, even by
    /// SIGKILL; a plain one where setpriv is missing (then only the signal handlers stop it).
    public static func dyingWithParent(_ executable: String, _ arguments: [String]) -> Process {
        let process = Process()
        if let setpriv = deathSignalWrapper {
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", executable] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        return process
    }

    /// setpriv, when it is installed and knows --pdeathsig (util-linux 2.33 and later).
    public static let deathSignalWrapper: String? = {
        for path in ["/usr/bin/setpriv", "/bin/setpriv"] where FileManager.default.isExecutableFile(atPath: path) {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: path)
            probe.arguments = ["--pdeathsig", "KILL", "--", "/bin/true"]
            probe.standardOutput = FileHandle.nullDevice
            probe.standardError = FileHandle.nullDevice
            guard (try? probe.run()) != nil else { continue }
            probe.waitUntilExit()
            if probe.terminationStatus == 0 { return path }
        }
        return nil
    }()
}
