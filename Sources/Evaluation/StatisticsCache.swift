// Feature statistics of scored sets kept on disk by signature (MediaSet.signature), so a reference
// set such as fashion-mnist goes through the network once.
import Foundation
import Metrics

public struct StatisticsCache: Sendable {
    public let folder: URL

    public init(folder: URL = StatisticsCache.defaultFolder) { self.folder = folder }

    /// $XDG_CACHE_HOME/magvit/fid, else ~/.cache/magvit/fid.
    public static var defaultFolder: URL {
        let home = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return home.appendingPathComponent("magvit/fid")
    }

    public func url(signature: String) -> URL { folder.appendingPathComponent("\(signature).safetensors") }

    /// The statistics stored under `signature`, nil when there are none or they cannot be read.
    public func load(signature: String) -> FeatureStatistics? {
        (try? FeatureStatistics.load(url(signature: signature)))?.statistics
    }

    public func store(_ statistics: FeatureStatistics, signature: String, metadata: [String: String]) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try statistics.save(to: url(signature: signature), metadata: metadata)
    }
}
