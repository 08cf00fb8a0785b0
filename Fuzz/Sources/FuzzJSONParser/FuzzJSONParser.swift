import AnalyticsSpec
import FuzzSupport
import JSONSchemaValidation

// Any bytes. When JSONParser accepts them:
// - JSONWriter's text parses again, to a value identical to the first (same kinds, numbers equal, strings
//   with the same code points, object members in the same order), and writing that value gives the
//   same text again: the writer's output is a fixed point after one round;
// - JSONWriter.bytes is the UTF-8 of JSONWriter.string;
// - parsing the input as a String (when it is UTF-8) gives the same value as parsing the bytes;
// - every parsed object's keys are distinct by code points (JSONObject(uniqueMembers:) relies on it);
// - InstanceReader reads the same bytes as one instance with that value (after a UTF-8 BOM, if any).
// When it refuses, the error's offset lies within the input. Nothing may crash, leak or hang.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let value: JSONValue
    do {
        value = try JSONParser.parse(input)
    } catch {
        guard (0...size).contains(error.offset) else {
            disagreement("parse error offset outside the input", input: input, ["error: \(error)"])
        }
        checkInstanceReaderRefusesOrSplits(input)
        return 0
    }
    checkUniqueKeys(value, input: input)

    let text = JSONWriter.string(value)
    let again: JSONValue
    do {
        again = try JSONParser.parse(text)
    } catch {
        disagreement("JSONWriter's output does not parse", input: input, [
            "written: \(swiftStringLiteral(text))", "error: \(error)",
        ])
    }
    guard identical(value, again) else {
        disagreement("JSONWriter's output parses to a different value", input: input, [
            "written: \(swiftStringLiteral(text))", "reparsed and written: \(swiftStringLiteral(JSONWriter.string(again)))",
        ])
    }
    let text2 = JSONWriter.string(again)
    guard sameCodePoints(text, text2) else {
        disagreement("writing the reparsed value gives different text", input: input, [
            "first: \(swiftStringLiteral(text))", "second: \(swiftStringLiteral(text2))",
        ])
    }
    guard JSONWriter.bytes(value).elementsEqual(text.utf8) else {
        disagreement("JSONWriter.bytes is not the UTF-8 of JSONWriter.string", input: input, [])
    }
    if let string = String(validating: input, as: UTF8.self) {
        do {
            let fromString = try JSONParser.parse(string)
            guard identical(fromString, value) else {
                disagreement("parse(String) and parse(bytes) differ", input: input, [
                    "from the string: \(swiftStringLiteral(JSONWriter.string(fromString)))",
                    "from the bytes: \(swiftStringLiteral(text))",
                ])
            }
        } catch {
            disagreement("parse(String) refuses what parse(bytes) accepts", input: input, ["error: \(error)"])
        }
    }
    checkInstanceReader(input, value: value)
    return 0
}

/// Same kind, numbers by value, strings by code points, arrays element by element, objects member by
/// member in order. Stricter than `JSONValue ==`, which ignores member order.
func identical(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): return true
    case (.bool(let x), .bool(let y)): return x == y
    case (.number(let x), .number(let y)): return x == y
    case (.string(let x), .string(let y)): return sameCodePoints(x, y)
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { identical($0, $1) }
    case (.object(let x), .object(let y)):
        return x.count == y.count
            && zip(x.members, y.members).allSatisfy { sameCodePoints($0.key, $1.key) && identical($0.value, $1.value) }
    default: return false
    }
}

func checkUniqueKeys(_ value: JSONValue, input: UnsafeBufferPointer<UInt8>) {
    switch value {
    case .array(let elements):
        for element in elements { checkUniqueKeys(element, input: input) }
    case .object(let object):
        var keys = Set<CodePointString>()
        for member in object.members {
            guard keys.insert(CodePointString(member.key)).inserted else {
                disagreement("parsed object has a repeated key", input: input, ["key: \(swiftStringLiteral(member.key))"])
            }
            checkUniqueKeys(member.value, input: input)
        }
    default: break
    }
}

/// A whole document JSONParser accepts is one instance for InstanceReader, or its items when split.
func checkInstanceReader(_ input: UnsafeBufferPointer<UInt8>, value: JSONValue) {
    let bytes = Array(input)
    do {
        let whole = try InstanceReader.read(bytes, splitArrays: false)
        guard whole.count == 1, case .success(let read) = whole[0].value, identical(read, value) else {
            disagreement("InstanceReader does not read a JSON document as one instance", input: input, [
                "instances: \(whole.count)",
            ])
        }
        let split = try InstanceReader.read(bytes, splitArrays: true)
        let expected = value.arrayValue ?? [value]
        guard split.count == expected.count,
            zip(split, expected).allSatisfy({ instance, item in
                if case .success(let read) = instance.value { identical(read, item) } else { false }
            })
        else {
            disagreement("InstanceReader's split of a JSON document is not its items", input: input, [
                "instances: \(split.count), expected: \(expected.count)",
            ])
        }
    } catch {
        disagreement("InstanceReader refuses a JSON document JSONParser accepts", input: input, ["error: \(error)"])
    }
}

/// Input JSONParser refuses: InstanceReader may read it as NDJSON (or after a BOM), or refuse it; it must
/// not crash, and each NDJSON line it reads must agree with JSONParser on that line.
func checkInstanceReaderRefusesOrSplits(_ input: UnsafeBufferPointer<UInt8>) {
    guard let instances = try? InstanceReader.read(Array(input), splitArrays: false) else { return }
    for instance in instances {
        guard case .success(let value) = instance.value else { continue }
        let text = JSONWriter.string(value)
        guard let again = try? JSONParser.parse(text), identical(again, value) else {
            disagreement("InstanceReader's instance does not round-trip through JSONWriter", input: input, [
                "instance \(instance.index): \(swiftStringLiteral(text))",
            ])
        }
    }
}
