import Testing

@testable import JSONSchemaValidation

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValue() throws {
        let value = try JSONParser.parse(#"{"a":[1,-2.5,3e2,true,false,null],"b":{"c":"d"},"e":""}"#)
        #expect(value == ["a": [1, -2.5, 300, true, false, nil], "b": ["c": "d"], "e": ""])
    }

    @Test func keepsMemberOrder() throws {
        let value = try JSONParser.parse(#"{"z":1,"a":2,"m":3}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m"])
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JSONParser.parse(#"["\"\\\/\b\f\n\r\t", "\u00e9\u65e5", "\ud83d\ude00", "\u0000"]"#)
        #expect(value == ["\"\\/\u{08}\u{0C}\n\r\t", "é日", "😀", "\u{0}"])
    }

    @Test func integersAndFractions() throws {
        #expect(try JSONParser.parse("1.0").typeName == "integer")
        #expect(try JSONParser.parse("1.5").typeName == "number")
        #expect(try JSONParser.parse("-0") == .number(0))
        #expect(try JSONParser.parse("12345678901234567890") == .number(12345678901234567890))
    }

    @Test(arguments: [
        ("", "unexpected end of input"),
        ("{", "expected a string key"),
        ("[1,]", "unexpected character ']'"),
        ("{\"a\":1,}", "expected a string key"),
        ("{\"a\" 1}", "expected ':'"),
        ("01", "unexpected data after the JSON value"),
        ("1.", "invalid number"),
        ("-", "invalid number"),
        ("1e", "invalid number"),
        ("tru", "unexpected end of input"),
        ("nul", "unexpected end of input"),
        ("nulL", "invalid literal"),
        ("\"abc", "unterminated string"),
        ("\"a\u{01}b\"", "unescaped control character in string"),
        ("\"\\x\"", "invalid escape sequence"),
        ("\"\\ud83d\"", "unpaired surrogate in \\u escape"),
        ("\"\\ude00\"", "unpaired surrogate in \\u escape"),
        ("\"\\u12g4\"", "invalid hex digit in \\u escape"),
        ("{\"a\":1,\"a\":2}", "duplicate key \"a\""),
        ("1e999", "number out of range"),
        ("[1] [2]", "unexpected data after the JSON value"),
        ("'a'", "unexpected character '''"),
    ])
    func rejectsMalformedInput(text: String, reason: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
        do {
            _ = try JSONParser.parse(text)
        } catch {
            #expect(error.reason == reason)
        }
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: JSONParseError(reason: "invalid UTF-8 in string", offset: 1)) {
            try JSONParser.parse([0x22, 0xC3, 0x28, 0x22])
        }
    }

    @Test func boundsNestingDepth() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let allowed = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        _ = try JSONParser.parse(allowed)
    }

    @Test func writerRoundTrips() throws {
        let text = #"{"s":"a\"b\\c\nd\u0001é😀","n":[0,-3,1.5,1e+20],"b":true,"z":null,"o":{}}"#
        let value = try JSONParser.parse(text)
        let written = JSONWriter.string(value)
        #expect(try JSONParser.parse(written) == value)
        #expect(written.contains(#""a\"b\\c\nd\u0001é😀""#))
        #expect(JSONWriter.string(["b": 1, "a": 2]) == #"{"b":1,"a":2}"#)
    }

    @Test func pointerEscapingAndResolution() throws {
        let document: JSONValue = ["a/b": ["~k": [10, 20]]]
        let pointer = JSONPointer([.key("a/b"), .key("~k"), .index(1)])
        #expect(pointer.description == "/a~1b/~0k/1")
        #expect(JSONPointer(parsing: "/a~1b/~0k/1")?.resolve(in: document) == 20)
        #expect(JSONPointer(parsing: "no-slash") == nil)
        #expect(JSONPointer(parsing: "")?.resolve(in: document) == document)
    }
}
