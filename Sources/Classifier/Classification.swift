// Scoring a classifier: clip probabilities averaged over each video's clips (the usual multi-clip
// protocol of UCF-101 and Kinetics), then top-1 / top-5 over videos, accuracy per class and the
// confusion matrix (rows: true class, columns: predicted), also as an image.
import ClassifierModel
import Foundation
import Torch

public struct ClassificationScores: Sendable {
    public let clips: Int
    /// Clip-level top-1 (each clip on its own).
    public let clipTop1: Double
    /// Video-level top-1 and top-k (k = min(5, classes)).
    public let top1: Double
    public let topK: Double
    public let k: Int
    /// Accuracy of each class's videos (nil: no video of that class).
    public let perClass: [Double?]
    /// Videos of true class i predicted as j.
    public let confusion: [[Int]]

    public var videos: Int { confusion.reduce(0) { $0 + $1.reduce(0, +) } }

    public func line(classNames: [String], what: String) -> String {
        String(format: "%@: top-1 %.2f %%, top-%d %.2f %% over %d videos (%d clips; clip top-1 %.2f %%)", what, 100 * top1, k, 100 * topK, videos, clips, 100 * clipTop1)
    }

    public func record(classNames: [String]) -> [String: Any] {
        var perClassRecord: [String: Any] = [:]
        for (name, a) in zip(classNames, perClass) { perClassRecord[name] = a ?? NSNull() }
        return ["top1": top1, "top\(k)": topK, "clip_top1": clipTop1, "videos": videos, "clips": clips,
                "per_class_accuracy": perClassRecord, "confusion": confusion, "classes": classNames]
    }

    /// The confusion matrix as an image (H, W, 3) in [0, 1]: each row normalised, white (0) to dark
    /// blue (all of the row's videos), classes in id order from the top left.
    public func confusionImage() throws -> Tensor {
        let n = confusion.count, cell = Swift.max(8, 256 / n), side = n * cell
        var pixels = [Float](repeating: 1, count: side * side * 3)
        for (i, row) in confusion.enumerated() {
            let total = Swift.max(1, row.reduce(0, +))
            for (j, count) in row.enumerated() {
                let v = Float(count) / Float(total)
                let colour: [Float] = [1 - 0.9 * v, 1 - 0.75 * v, 1 - 0.4 * v]
                for y in (i * cell + 1)..<((i + 1) * cell) {
                    for x in (j * cell + 1)..<((j + 1) * cell) {
                        for c in 0..<3 { pixels[(y * side + x) * 3 + c] = colour[c] }
                    }
                }
            }
        }
        for y in 0..<side { for x in 0..<side where y % cell == 0 || x % cell == 0 { for c in 0..<3 { pixels[(y * side + x) * 3 + c] = 0.8 } } }
        return try Tensor(pixels, shape: [side, side, 3])
    }
}

public enum Classification {
    /// Clip probabilities (N, classes) float32 on the CPU, `batch` clips at a time.
    public static func probabilities(model: VideoClassifier, inputs: Tensor, batch: Int = 64) throws -> Tensor {
        try withNoGrad {
            var parts: [Tensor] = []
            for first in stride(from: 0, to: inputs.size(0), by: batch) {
                let x = try inputs.narrow(0, start: first, length: Swift.min(batch, inputs.size(0) - first)).to(model.device)
                parts.append(try model.logits(x).to(.float32).softmax(dim: 1).to(.cpu))
            }
            return try concatenate(parts, dim: 0)
        }
    }

    /// Probabilities (V, classes) of each video: the mean over its clips (`videos`: each clip's video number, 0..<V).
    public static func perVideo(_ probabilities: Tensor, videos: Tensor, count: Int) throws -> Tensor {
        let k = probabilities.size(1)
        let p = try probabilities.to(.float32).contiguous().toArray(Float.self), clipVideos = try videos.to(.int64).toArray(Int64.self)
        var sums = [Float](repeating: 0, count: count * k), clips = [Float](repeating: 0, count: count)
        for (i, v) in clipVideos.enumerated() {
            guard v >= 0, Int(v) < count else { throw ClassifierError("clip \(i) names video \(v) of \(count)") }
            clips[Int(v)] += 1
            for j in 0..<k { sums[Int(v) * k + j] += p[i * k + j] }
        }
        for v in 0..<count where clips[v] > 0 { for j in 0..<k { sums[v * k + j] /= clips[v] } }
        return try Tensor(sums, shape: [count, k])
    }

    public static func score(model: VideoClassifier, examples: LabelledClips, classes: Int, batch: Int = 64) throws -> ClassificationScores {
        try score(probabilities: probabilities(model: model, inputs: examples.inputs, batch: batch), labels: examples.labels, videos: examples.videos,
                  videoCount: examples.videoNames.count, classes: classes)
    }

    /// Scores of clip probabilities (N, classes) with their labels and video numbers; a video's label
    /// is its clips' (they share it).
    public static func score(probabilities: Tensor, labels: Tensor, videos: Tensor, videoCount: Int, classes: Int) throws -> ClassificationScores {
        let clipLabels = try labels.to(.int64).toArray(Int64.self), clipVideos = try videos.to(.int64).toArray(Int64.self)
        if let (i, bad) = clipLabels.enumerated().first(where: { !(-1..<Int64(classes)).contains($0.element) }) {
            throw ClassifierError("clip \(i) has label \(bad); labels must be -1 (none) or a class in 0..<\(classes)")
        }
        let clipTop1 = try probabilities.argmax(dim: 1).toArray(Int64.self)
        let video = try perVideo(probabilities, videos: videos, count: videoCount)
        let k = Swift.min(5, classes)
        let top = try video.topk(k, dim: 1).indices.toArray(Int64.self)
        var videoLabel = [Int64](repeating: -1, count: videoCount)
        for (v, l) in zip(clipVideos, clipLabels) { videoLabel[Int(v)] = l }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var (right, rightK) = (0, 0)
        for v in 0..<videoCount where videoLabel[v] >= 0 {
            let predictions = top[(v * k)..<((v + 1) * k)]
            let truth = videoLabel[v]
            confusion[Int(truth)][Int(predictions.first!)] += 1
            if predictions.first! == truth { right += 1 }
            if predictions.contains(truth) { rightK += 1 }
        }
        let n = Double(Swift.max(1, confusion.reduce(0) { $0 + $1.reduce(0, +) }))
        let perClass = confusion.enumerated().map { i, row -> Double? in
            let total = row.reduce(0, +)
            return total > 0 ? Double(row[i]) / Double(total) : nil
        }
        let clipRight = zip(clipTop1, clipLabels).filter { $0 == $1 }.count
        return ClassificationScores(clips: clipLabels.count, clipTop1: Double(clipRight) / Double(Swift.max(1, clipLabels.count)),
                                    top1: Double(right) / n, topK: Double(rightK) / n, k: k, perClass: perClass, confusion: confusion)
    }
}
