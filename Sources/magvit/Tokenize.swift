// `magvit tokenize`: many videos and images into a sharded token dataset, resumable.
import ArgumentParser
import Dataset
import Foundation
import Media
import Torch

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize a whole set of videos and images into a sharded token dataset.",
        discussion: """
            A separate command from `encode` because the output is another kind of thing: `encode` makes one \
            token file (.mgvt) per video, at the video's own size and length, for decoding it back; `tokenize` \
            makes a dataset for training, every clip of one fixed size and length, many files per process, \
            with labels. Inputs: files, folders (searched recursively), glob patterns, or a .txt file listing \
            paths. A tail shorter than one clip is padded with its last frame (its real frame count is kept). \
            A file that fails to decode is reported and skipped; the dataset is still made, and the exit status is then 2 (1 for an error that stops the job). Rerunning \
            resumes an interrupted job. Example:
              magvit tokenize videos/ -o data/tokens --labels folders --batch 8 --workers 2
            """)

    @Argument(help: "Video and image files, folders, glob patterns, or .txt lists of paths.")
    var inputs: [String]
    @Option(name: .shortAndLong, help: "The dataset folder (new, empty, or an unfinished one to resume).")
    var output: String
    @Option(help: "Class labels: none, folders (each file's folder name), or a CSV file of path,label rows.")
    var labels = "none"
    @Option(help: "Clips per model call.") var batch = 8
    @Option(help: "Decoder processes reading ahead of the model.") var workers = 2
    @Option(help: "Clips per shard.") var shardSize = 1024
    @Option(help: "Seconds between progress lines when standard error is not a terminal.") var progressEvery = 30.0
    @OptionGroup var model: ModelOptions
    @OptionGroup var frames: FrameOptions
    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        guard frames.maxFrames == nil else { throw ValidationError("--max-frames does not apply to tokenize (every clip of every file is taken)") }
        try OutputFiles.checkNotInput(output, inputs: inputs)
        // Datasets made before folder markers existed hold their state or index.
        try OutputFiles.checkFolder(output, legacyMarks: [Tokenization.stateName, TokenDataset.indexName])
        let device = try runtime.apply()
        let list = try InputList.expand(inputs, labels: LabelSource(labels))
        let read = try frames.readOptions()
        var options = TokenizeOptions()
        options.size = read.size
        options.centerCrop = read.centerCrop
        options.fps = read.frameRate
        options.strict = read.strict
        (options.batch, options.workers, options.shardSize, options.device) = (batch, workers, shardSize, device)
        let job = try Tokenization(model: model.load(device: device), inputs: list, labels: LabelSource(labels),
                                   output: URL(fileURLWithPath: output), options: options)
        try OutputFiles.createFolder(output)
        let lines = ProgressLines(label: "tokenize", every: progressEvery)
        let index = try job.run { p in
            lines.update(done: p.filesDone, total: p.files, unit: "files",
                         detail: String(format: "%d clips  %.1f clips/s%@", p.clips, p.clipsPerSecond, p.failed > 0 ? "  \(p.failed) failed" : ""),
                         eta: p.eta)
        }
        lines.done()
        let classes = index.classes.isEmpty ? "unlabelled" : "\(index.classes.count) classes"
        print("\(output): \(index.clips) clips of \(index.grid.map(String.init).joined(separator: "x")) tokens (\(index.clipFrames) frames at \(index.size[0])x\(index.size[1])) in \(index.shards.count) shard\(index.shards.count == 1 ? "" : "s"), \(classes), from \(index.files - index.failures.count) of \(index.files) files")
        guard index.failures.isEmpty else {
            for f in index.failures { FileHandle.standardError.write(Data("skipped \(f.error)\n".utf8)) }
            FileHandle.standardError.write(Data("error: \(index.failures.count) of \(index.files) files could not be decoded and were skipped (listed in \(output)/dataset.json)\n".utf8))
            throw ExitCode(2)
        }
    }
}
