// `magvit import FORMAT CHECKPOINT -o MODEL.safetensors`: published MAGVIT-v2 weights as a Magvit
// tokenizer file (docs/import.md). The library reads, maps and inflates (`WeightImport`); this
// command checks the output, saves the model with its `imported` lineage record and says what it did.
import ArgumentParser
import Foundation
import Tokenizer
import Torch

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn a published MAGVIT-v2 checkpoint into a Magvit tokenizer file.",
        discussion: """
            Formats: open-magvit2 (Open-MAGVIT2's image tokenizers: their Lightning .ckpt, or its tensors in \
            safetensors); magvit2-pytorch and o2-magvit2 are recognised and refused, naming the first layer \
            Magvit's architecture cannot express (docs/import.md).
            """)

    @Argument(help: "Checkpoint format: \(ImportFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: String
    @Argument(help: "The checkpoint: a PyTorch .ckpt/.pt/.pth (torch.save's zip format) or a .safetensors file.")
    var checkpoint: String
    @Option(name: .shortAndLong, help: "The Magvit tokenizer file to write (.safetensors).")
    var output: String
    @Flag(help: "Make a video tokenizer by the paper's inflation (2D kernels into the last temporal slice of causal 3D ones).")
    var video = false
    @Option(help: "With --video: how many of the last levels also halve time (2: 17 frames -> 5 latent frames; 0: frame by frame).")
    var temporalDownsamplings: Int = 2
    @Option(help: "With --video: the temporal kernel size of the causal convolutions.")
    var temporalKernel: Int = 3
    @Flag(help: "Take the training weights even when the checkpoint holds EMA weights (by default the EMA weights, which Open-MAGVIT2 evaluates).")
    var noEma = false

    func validate() throws {
        guard ImportFormat(rawValue: format) != nil else {
            throw ValidationError("unknown format '\(format)'; one of \(ImportFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if !video, temporalDownsamplings != 2 || temporalKernel != 3 {
            throw ValidationError("--temporal-downsamplings and --temporal-kernel shape a video tokenizer: add --video")
        }
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: checkpoint) else { throw ToolError("\(checkpoint): no such file") }
        try OutputFiles.checkNotInput(output, inputs: [checkpoint])
        try OutputFiles.checkDestination(output)
        try OutputFiles.checkExtension(output, ["safetensors"], writes: "a tokenizer file")
        let options = ImportOptions(video: video ? VideoInflation(temporalDownsamplings: temporalDownsamplings, temporalKernel: temporalKernel) : nil,
                                    useEMA: !noEma)
        let imported: ImportedTokenizer
        do {
            imported = try WeightImport.run(ImportFormat(rawValue: format)!, checkpoint: URL(fileURLWithPath: checkpoint), options: options)
        } catch let error as TokenizerError {
            throw ToolError("\(error)")
        }
        let model = imported.model, c = model.config
        try model.save(to: URL(fileURLWithPath: output), metadata: [WeightImport.metadataKey: imported.record])
        let grid = c.tokenGrid(frames: c.clipFrames, height: c.resolution, width: c.resolution)
        print("\(output): \(c.name), \(c.clipFrames)x\(c.resolution)x\(c.resolution) -> \(grid.t)x\(grid.h)x\(grid.w) tokens of 2^\(c.quantizer.bits) codes,"
              + " \(model.parameterCount) parameters (\(imported.usedEMA ? "EMA" : "training") weights; \(imported.report.copied) tensors copied,"
              + " \(imported.report.inflated) kernels inflated, \(imported.report.ignored.count) others skipped)")
    }
}
