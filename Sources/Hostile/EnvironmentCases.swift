// The tool campaign's cases around the tool rather than in its files: the environment of a run
// (data-parallel variables) and the output paths a command is given.
import Foundation
import Torch

extension ToolFixtures {
    func environmentCase(_ index: Int, random: inout SeededRandom) -> ToolCase {
        let train = ["train", trainConfig, "-o", "run", "--set", "run.steps=2"]
        guard index >= 0 else { return ToolCase(what: "single process", runs: [Invocation(arguments: train)]) }
        let port = 20_000 + Int((UInt64(getpid()) &* 131 &+ UInt64(index) &* 7919) % 30_000)
        let numbers = ["0", "1", "2", "3", "-1", "65535", "65536", "2147483647", "2147483648", "4294967297", "4611686018427387904",
                       "9223372036854775807", "9223372036854775808", "-9223372036854775808", "1.5", "1e3", "0x10", " 1", "1 ", "+1", "01",
                       "", "x", "\u{0661}", "nan"]
        // Host names that resolve without a network: numeric forms of 127.0.0.1, localhost, IPv6 loopback, or nothing.
        let hosts = ["127.0.0.1", "localhost", "::1", "[::1]", "", " ", "127.1", "2130706433", "0x7f000001", "127.0.0.1:\(port)", String(repeating: "a", count: 300)]
        func draw(_ name: String) -> String {
            if name == "MASTER_ADDR" { return hosts[Int(random.next() % UInt64(hosts.count))] }
            if name == "MASTER_PORT", random.next() % 3 == 0 { return "\(port)" }
            return numbers[Int(random.next() % UInt64(numbers.count))]
        }
        let names = ["RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"]
        if index % 3 != 2 {
            // One process: each variable present or not, valid or an edge value.
            var environment: [String: String] = [:]
            let valid = ["RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)"]
            for name in names where random.next() % 2 == 0 { environment[name] = random.next() % 3 == 0 ? valid[name]! : draw(name) }
            let what = names.compactMap { n in environment[n].map { "\(n)=\($0.prefix(24).debugDescription)" } }.joined(separator: " ")
            return ToolCase(what: "one process: " + (what.isEmpty ? "(none)" : what), runs: [Invocation(arguments: train, environment: environment)])
        }
        // Two ranks that would meet, with one variable of one of them set otherwise.
        var pair = (0..<2).map { ["RANK": "\($0)", "WORLD_SIZE": "2", "LOCAL_RANK": "\($0)", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "\(port)"] }
        let who = Int(random.next() % 2), name = names[Int(random.next() % UInt64(names.count))]
        let value = random.next() % 3 == 0 && name != "MASTER_ADDR" ? ["0", "1", "2", "3", "\(port + 1)"][Int(random.next() % 5)] : draw(name)
        pair[who][name] = value
        return ToolCase(what: "two ranks: rank \(who) \(name)=\(value.prefix(24).debugDescription)",
                        runs: pair.map { Invocation(arguments: train, environment: $0) })
    }

    // MARK: output paths

    func outputCase(_ index: Int, random: inout SeededRandom, work: URL) throws -> ToolCase {
        let manager = FileManager.default
        try manager.copyItem(atPath: video, toPath: work.appendingPathComponent("in.mp4").path)
        try manager.copyItem(atPath: tokens, toPath: work.appendingPathComponent("in.mgvt").path)
        try manager.createDirectory(at: work.appendingPathComponent("sub"), withIntermediateDirectories: true)
        let user = work.appendingPathComponent("user")
        try manager.createDirectory(at: user.appendingPathComponent("sub"), withIntermediateDirectories: true)
        try Data("thesis\n".utf8).write(to: user.appendingPathComponent("thesis.txt"))
        try Data("notes\n".utf8).write(to: user.appendingPathComponent("sub/notes.md"))
        let model = ["--checkpoint", checkpoint, "--threads", "1"]
        let commands: [(String, String, (String) -> [String])] = [
            ("encode", "in.mp4", { ["encode", "in.mp4", "-o", $0] + model }),
            ("decode", "in.mgvt", { ["decode", "in.mgvt", "-o", $0] + model }),
            ("reconstruct", "in.mp4", { ["reconstruct", "in.mp4", "-o", $0] + model }),
            ("compress", "in.mgvt", { ["compress", "in.mgvt", "-o", $0] + model }),
            ("tokenize", "in.mp4", { ["tokenize", "in.mp4", "-o", $0, "--batch", "1", "--workers", "1"] + model }),
            ("train", "in.mp4", { ["train", trainConfig, "-o", $0, "--set", "run.steps=2"] }),
        ]
        guard index >= 0 else { return ToolCase(what: "encode into out.mgvt", runs: [Invocation(arguments: commands[0].2("out.mgvt"))]) }
        let (command, input, arguments) = commands[Int(random.next() % UInt64(commands.count))]
        let guarded = ["in.mp4", "in.mgvt", "user/thesis.txt", "user/sub/notes.md", "hard-link"]
        try manager.linkItem(atPath: work.appendingPathComponent(input).path, toPath: work.appendingPathComponent("hard-link").path)
        try manager.createSymbolicLink(atPath: work.appendingPathComponent("alias").path, withDestinationPath: input)
        try manager.createSymbolicLink(atPath: work.appendingPathComponent("link-out").path, withDestinationPath: canary.file.path)
        try manager.createSymbolicLink(atPath: work.appendingPathComponent("link-folder").path, withDestinationPath: canary.folder.path)
        try manager.createSymbolicLink(atPath: work.appendingPathComponent("dangling").path, withDestinationPath: canary.absent.path)
        let ext = ["encode": ".mgvt", "compress": ".mgvc", "decode": ".mp4", "reconstruct": ".mp4"][command] ?? ""
        func long(_ n: Int) -> String { String(repeating: "n", count: max(1, n - ext.count)) + ext }
        var destinations = [
            input, "./" + input, "sub/../" + input, work.appendingPathComponent(input).path, "alias", "hard-link",
            "link-out", "link-folder", "link-folder/", "dangling", "user", "user/", "user/thesis.txt",
            "out" + ext + "/", "new/", "sub/", "sub/..", "./", input + "/x" + ext, "out" + ext + "//",
            long(200), long(240), long(250), long(255), long(256), long(1000),
            (0..<45).map { _ in String(repeating: "d", count: 100) }.joined(separator: "/") + "/out" + ext,
            "out with space" + ext, "ñ-é" + ext, "a\nb" + ext, "-" + ext, "out.txt", "user/new" + ext,
        ]
        // Not a new name inside link-folder: links above the destination are followed, as by every
        // Unix tool (a run folder linked to a scratch disk); writing there is what was asked.
        if ["decode", "reconstruct"].contains(command) { destinations += ["frames/", "user/frames/"] }
        var destination = destinations[Int(random.next() % UInt64(destinations.count))]
        var what = "\(command) into \(destination.prefix(60).debugDescription)\(destination.count > 60 ? " (\(destination.utf8.count) bytes)" : "")"
        // Mutations change the part of a path below the case's folder, and one that comes out absolute
        // (a "." or "-" flipped to "/") stays below it too: a truncated or flipped absolute path named
        // places all over the machine ("/tm", "/ut.mgvc", "/tmp/magvit-fuzz-output-pat"), where the
        // outputs of the first 10,000 cases landed. The canary tree, through the links, is the one
        // place outside the folder that a case may reach.
        let folder = work.path + "/"
        let anchored = destination.hasPrefix(folder)
        if anchored { destination.removeFirst(folder.count) }
        switch random.next() % 8 {
        case 0 where destination.count > 1:
            // A truncated name, or one with a bit flipped (kept printable ASCII).
            let cut = 1 + Int(random.next() % UInt64(destination.count - 1))
            destination = String(destination.prefix(cut))
            what += ", truncated to \(destination.prefix(60).debugDescription)"
        case 1 where !destination.isEmpty:
            var bytes = Array(destination.utf8)
            let at = Int(random.next() % UInt64(bytes.count))
            if bytes[at] < 0x80 {
                bytes[at] ^= UInt8(1 << (random.next() % 6))
                if bytes[at] < 0x20 || bytes[at] == 0x7f { bytes[at] = 0x2f }
            }
            destination = String(decoding: bytes, as: UTF8.self)
            what += ", flipped to \(destination.prefix(60).debugDescription)"
        default: break
        }
        if anchored || destination.hasPrefix("/") { destination = folder + destination }
        return ToolCase(what: what, runs: [Invocation(arguments: arguments(destination))], guarded: guarded)
    }
}
