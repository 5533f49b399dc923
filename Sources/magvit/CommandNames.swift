// A mistyped command: ArgumentParser would read `magvit encdoe x.mp4` as unexpected arguments of the
// root command and answer with the wrong usage; the tool names the word, the closest command and
// the list instead (exit 64), as git does.
import ArgumentParser

enum CommandNames {
    /// The message for the first word of `arguments` that stands where a subcommand of `root` (or of
    /// one of its subcommands) is expected and names none; nil when every such word is a command.
    static func unknown(in arguments: [String], under root: ParsableCommand.Type) -> String? {
        var command = root, path: [String] = []
        for word in arguments {
            let subcommands = command.configuration.subcommands
            // Options (--help, --version) and `help` are ArgumentParser's; a leaf command takes its own words.
            guard !subcommands.isEmpty, !word.hasPrefix("-"), word != "help" else { return nil }
            guard let next = subcommands.first(where: { $0._commandName == word }) else {
                let names = subcommands.map { $0._commandName }
                let prefix = path.map { $0 + " " }.joined()
                let guess = closest(to: word, among: names).map { "; did you mean '\(prefix)\($0)'?" } ?? ""
                let tool = ([root._commandName] + path).joined(separator: " ")
                return "Error: unknown command '\(prefix)\(word)'\(guess)\nCommands of \(tool): \(names.joined(separator: ", "))\nSee '\(tool) --help'."
            }
            command = next
            path.append(word)
        }
        return nil
    }

    /// The name nearest to `word` in edit distance (a swap of two neighbours counting once), if it is
    /// near enough to be a typo: at most 2 edits, and fewer than half the word's letters.
    static func closest(to word: String, among names: [String]) -> String? {
        let scored = names.map { (name: $0, distance: distance(word.lowercased(), $0)) }
        guard let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= min(2, max(1, (word.count - 1) / 2)) else {
            return names.first { $0.hasPrefix(word.lowercased()) && word.count >= 3 }
        }
        return best.name
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        guard !x.isEmpty, !y.isEmpty else { return max(x.count, y.count) }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[x.count][y.count]
    }
}
