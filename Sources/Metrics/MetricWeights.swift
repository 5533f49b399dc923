// Where the converted metric networks live (scripts/setup.sh writes them with scripts/convert-weights.py).
import Foundation

public enum MetricWeights {
    /// $MAGVIT_WEIGHTS, else .deps/weights in the source tree this binary was built from.
    public static var root: URL {
        if let path = ProcessInfo.processInfo.environment["MAGVIT_WEIGHTS"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".deps/weights")
    }
}
