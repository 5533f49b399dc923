// Text from a file (a token file's source name, a checkpoint's metadata, a dataset's class names) made
// safe to print: a terminal obeys escape sequences and control characters, so a forged field could
// move the cursor, forge a line or retitle the window. Everything the tool prints from a file goes
// through `TerminalText.escaped`.

public enum TerminalText {
    /// `text` with every control character (C0, DEL, C1) and bidirectional override written as an
    /// escape (`\x1B`, `\u{202E}`); everything else unchanged.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else { out.unicodeScalars.append(scalar); continue }
            let hex = String(scalar.value, radix: 16, uppercase: true)
            out += scalar.value < 0x100 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{\(hex)}"
        }
        return out
    }

    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true  // bidirectional marks and overrides
        default: false
        }
    }
}
