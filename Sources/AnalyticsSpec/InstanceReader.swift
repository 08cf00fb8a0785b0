import JSONSchemaValidation

/// One document to validate, from a JSON value, an array item or an NDJSON line.
public struct Instance: Sendable {
    /// Position among the instances read, from 0.
    public let index: Int
    /// The 1-based line, for NDJSON input.
    public let line: Int?
    /// The value, or why its line is not JSON.
    public let value: Result<JSONValue, JSONParseError>
}

/// Splits input into instances: a single JSON value, the items of a JSON array, or NDJSON (one value a line).
public enum InstanceReader {
    /// - Parameter splitArrays: read a top-level array as its items rather than as one instance.
    /// - Throws: when the input is empty or is neither a JSON value nor NDJSON.
    public static func read(_ bytes: [UInt8], splitArrays: Bool) throws(JSONParseError) -> [Instance] {
        var instances: [Instance] = []
        try forEach(in: bytes, splitArrays: splitArrays) { instances.append($0) }
        return instances
    }

    /// Calls `body` with each instance in turn, parsing NDJSON one line at a time.
    public static func forEach(
        in bytes: [UInt8], splitArrays: Bool, _ body: (Instance) -> Void
    ) throws(JSONParseError) {
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        let content = bytes[start...]
        guard content.contains(where: { !isWhitespace($0) }) else {
            throw JSONParseError(reason: "no JSON input", offset: 0)
        }
        let whole: JSONParseError
        do {
            let value = try content.withContiguousStorageIfAvailable { try JSONParser.parse($0) }
                ?? JSONParser.parse(Array(content))
            if splitArrays, case .array(let items) = value {
                for (offset, item) in items.enumerated() { body(Instance(index: offset, line: nil, value: .success(item))) }
            } else {
                body(Instance(index: 0, line: nil, value: .success(value)))
            }
            return
        } catch let error as JSONParseError {
            whole = error
        } catch {
            preconditionFailure("JSONParser throws only JSONParseError")
        }
        let lines = splitLines(content)
        guard lines.count > 1, let first = lines.first,
            whole.reason == "unexpected data after the JSON value" || (try? parse(first.bytes)) != nil
        else { throw whole }
        for (offset, line) in lines.enumerated() {
            body(Instance(index: offset, line: line.number, value: Result { () throws(JSONParseError) in try parse(line.bytes) }))
        }
    }

    private static func parse(_ bytes: ArraySlice<UInt8>) throws(JSONParseError) -> JSONValue {
        do {
            return try bytes.withUnsafeBufferPointer { buffer in try JSONParser.parse(buffer) }
        } catch let error as JSONParseError {
            throw error
        } catch {
            preconditionFailure("JSONParser throws only JSONParseError")
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// Non-blank lines with their 1-based numbers.
    private static func splitLines(_ content: ArraySlice<UInt8>) -> [(number: Int, bytes: ArraySlice<UInt8>)] {
        var lines: [(Int, ArraySlice<UInt8>)] = []
        var number = 1
        var lineStart = content.startIndex
        for index in content.indices where content[index] == 0x0A {
            let line = content[lineStart..<index]
            if line.contains(where: { !isWhitespace($0) }) { lines.append((number, line)) }
            number += 1
            lineStart = index + 1
        }
        let last = content[lineStart...]
        if last.contains(where: { !isWhitespace($0) }) { lines.append((number, last)) }
        return lines
    }
}
