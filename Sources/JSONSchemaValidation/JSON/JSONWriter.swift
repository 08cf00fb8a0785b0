/// Serializes `JSONValue`s compactly, keeping object members in their order.
public enum JSONWriter {
    public static func string(_ value: JSONValue) -> String {
        var output = ""
        write(value, to: &output)
        return output
    }

    public static func bytes(_ value: JSONValue) -> [UInt8] {
        Array(string(value).utf8)
    }

    public static func write(_ value: JSONValue, to output: inout String) {
        switch value {
        case .null: output += "null"
        case .bool(let b): output += b ? "true" : "false"
        case .number(let n): writeNumber(n, to: &output)
        case .string(let s): writeString(s, to: &output)
        case .array(let elements):
            output += "["
            for (offset, element) in elements.enumerated() {
                if offset > 0 { output += "," }
                write(element, to: &output)
            }
            output += "]"
        case .object(let object):
            output += "{"
            for (offset, member) in object.members.enumerated() {
                if offset > 0 { output += "," }
                writeString(member.key, to: &output)
                output += ":"
                write(member.value, to: &output)
            }
            output += "}"
        }
    }

    public static func writeNumber(_ number: Double, to output: inout String) {
        if number.isIntegral, abs(number) < 1e15 {
            output += String(Int64(number))
        } else {
            output += number.description
        }
    }

    /// Appends the same text as `writeString(_:to:)` as UTF-8 bytes.
    public static func writeString(_ string: String, to output: inout [UInt8]) {
        guard needsEscaping(string) else {
            output.append(0x22)
            output.append(contentsOf: string.utf8)
            output.append(0x22)
            return
        }
        var escaped = ""
        writeString(string, to: &escaped)
        output.append(contentsOf: escaped.utf8)
    }

    /// Control characters, quotes and backslashes are written escaped; everything else as it is.
    private static func needsEscaping(_ string: String) -> Bool {
        string.utf8.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
    }

    public static func writeString(_ string: String, to output: inout String) {
        output += "\""
        guard needsEscaping(string) else {
            output += string
            output += "\""
            return
        }
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
