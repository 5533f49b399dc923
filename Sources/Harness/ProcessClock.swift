// The CPU time this process has used, for quality per CPU-second on a shared machine: beside other
// jobs a step's wall-clock time stretches with the load, its CPU time hardly does.
import Glibc

public enum ProcessClock {
    /// User plus system CPU seconds of every thread of this process so far (getrusage(RUSAGE_SELF)).
    public static func cpuSeconds() -> Double {
        var usage = rusage()
        guard getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage) == 0 else { return 0 }
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
