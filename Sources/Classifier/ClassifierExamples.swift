// The classifier's examples: tokens, pixels or I3D features of the config's labelled clips, made once
// and cached in the run folder.
import ClassifierModel
import Dataset
import Foundation
import Harness
import NN
import Torch

extension ClassifierTrainer {
    /// The training or held-out examples of the config, made by `encoder` once and cached in the run
    /// folder under a key of everything they depend on.
    func examples(training: Bool, encoder: ClipEncoder, folder: URL, log: RunLog) throws -> LabelledClips {
        let name = training ? "train" : "eval"
        let cache = folder.appendingPathComponent("examples-\(name).safetensors")
        let key = try cacheKey(training: training)
        if let file = try? SafeTensors.read(cache), file.metadata["key"] == key, let inputs = file.tensors["inputs"], let labels = file.tensors["labels"],
           let videos = file.tensors["videos"], let names = file.metadata["video_names"].flatMap({ try? JSONDecoder().decode([String].self, from: Data($0.utf8)) }) {
            return LabelledClips(inputs: inputs, labels: labels, videos: videos, videoNames: names)
        }
        let start = Date()
        let set = try build(training: training, encoder: encoder, log: log)
        let names = String(decoding: try JSONEncoder().encode(set.videoNames), as: UTF8.self)
        try SafeTensors.write(set.tensors(), metadata: ["key": key, "video_names": names], to: cache)
        log.say(String(format: "made %d %@ examples (%@, %d videos) in %.0f s", set.count, name, config.classifier.input.rawValue, set.videoNames.count,
                       Date().timeIntervalSince(start)))
        return set
    }

    private func cacheKey(training: Bool) throws -> String {
        let settings = [tokenizer.hash, config.classifier.input.rawValue, try ConfigFile.json(config.data),
                        "\(config.trainClips) \(config.evalClips) \(config.maxClipsPerVideo) \(config.run.seed) \(training)"]
        return settings.joined(separator: "|")
    }

    private func build(training: Bool, encoder: ClipEncoder, log: RunLog) throws -> LabelledClips {
        let c = config.classifier
        let maker = ExampleMaker(encoder: encoder, frames: c.clipFrames, size: c.resolution, channels: c.channels)
        switch config.data.kind {
        case .motionClasses:
            let digits = try MotionDigits(data: config.data, seed: config.run.seed)
            let (split, count) = training ? (MotionDigits.Split.train, config.trainClips) : (.validation, config.evalClips)
            return try maker.motionDigits(digits, split, count: count) { log.progress(step: $0, of: count, stepsPerSecond: 0, loss: nil) }
        case .videos:
            guard training || !config.data.eval.isEmpty else { throw ConfigError("data.eval must name held-out labelled videos") }
            let list = try config.videoInputs(training ? config.data.train : config.data.eval, training ? "data.train" : "data.eval")
            guard list.classes == classNames else { throw ConfigError("data.eval's classes \(list.classes) are not data.train's \(classNames)") }
            let made = try maker.videos(list, maxClips: config.maxClipsPerVideo, workers: config.workers) {
                log.progress(step: $0, of: list.files.count, stepsPerSecond: 0, loss: nil)
            }
            // A set with holes would silently differ from the one asked for.
            if let failure = made.failures.first { throw ConfigError("\(failure.path): \(failure.message)") }
            return made.examples
        case .tokens:
            guard training || !config.data.eval.isEmpty else { throw ConfigError("data.eval must name a held-out labelled token dataset") }
            let dataset = try config.tokenDataset(training ? config.data.path : config.data.eval[0], training ? "data.path" : "data.eval")
            return try ExampleMaker.tokens(dataset, maxClips: config.maxClipsPerVideo, tokenizer: (tokenizer.hash, tokenizer.model.config.name),
                                           classNames: classNames, grid: c.grid)
        default:
            let count = training ? config.trainClips : config.evalClips
            return try maker.labelled(config.clipSource(), training: training, count: count) { log.progress(step: $0, of: count, stepsPerSecond: 0, loss: nil) }
        }
    }
}
