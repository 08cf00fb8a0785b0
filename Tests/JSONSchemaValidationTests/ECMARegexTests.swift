import Testing

@testable import JSONSchemaValidation

@Suite struct ECMARegexTests {
    @Test(arguments: [
        // `$` is the end of input only: ECMA-262 has no "before a final newline".
        ("^abc$", "abc", true),
        ("^abc$", "abc\n", false),
        ("^abc$(?!\\n)", "abc", true),
        // Search semantics: unanchored patterns match anywhere.
        ("b", "abc", true),
        ("^b", "abc", false),
        ("c$", "abc", true),
        // \d, \w are ASCII; \s includes Unicode spaces.
        ("^\\d+$", "0123456789", true),
        ("^\\d$", "٣", false),
        ("^\\w+$", "a_Z9", true),
        ("^\\w$", "é", false),
        ("^\\s$", "\u{00A0}", true),
        ("^\\S$", "x", true),
        ("^\\D\\W$", "a-", true),
        // `.` excludes line terminators only.
        ("^.$", "😀", true),
        ("^.$", "\n", false),
        ("^.$", "\u{2028}", false),
        // Classes: ranges, negation, escapes inside, a literal hyphen.
        ("^[A-Za-z0-9][A-Za-z0-9._:-]*$", "shop.example-1:eu_2", true),
        ("^[A-Za-z0-9][A-Za-z0-9._:-]*$", "-x", false),
        ("^[^\\u0000-\\u001F\\u007F]*$", "/ok path", true),
        ("^[^\\u0000-\\u001F\\u007F]*$", "/a\u{7F}", false),
        ("^[\\d-z]+$", "1-z", true),
        ("^[\\s\\S]$", "\n", true),
        ("^[^\\D]$", "5", true),
        ("^[^\\D]$", "x", false),
        ("^[\\b]$", "\u{08}", true),
        // Quantifiers, greedy and lazy, bounded.
        ("^a{2,3}$", "aa", true),
        ("^a{2,3}$", "aaaa", false),
        ("^a{2}$", "aa", true),
        ("^a{2,}$", "aaaaa", true),
        ("^(ab)+$", "ababab", true),
        ("^(ab)+$", "ababa", false),
        ("^a+?b$", "aaab", true),
        ("^(a|ab)(c|bcd)(d*)$", "abcd", true),
        ("^(?:a|b)*c$", "ababc", true),
        ("^(a*)*$", "aaaa", true),
        ("^(a*)+b$", "aaab", true),
        ("x{", "x{", true),
        // Lookahead.
        ("^(?=.*\\d)[a-z0-9]+$", "abc1", true),
        ("^(?=.*\\d)[a-z0-9]+$", "abc", false),
        ("^(?!admin)\\w+$", "administrator", false),
        ("^(?!admin)\\w+$", "user", true),
        // Word boundaries.
        ("\\bcat\\b", "a cat sat", true),
        ("\\bcat\\b", "concatenate", false),
        ("\\Bcat\\B", "concatenate", true),
        // Escapes: \x, \u, \u{…} and surrogate pairs, \cJ, identity escapes.
        ("^\\x41\\u0042\\u{1F600}$", "AB😀", true),
        ("^\\uD83D\\uDE00$", "😀", true),
        ("^\\cJ$", "\n", true),
        ("^\\.\\*\\/$", ".*/", true),
        // Code points, not UTF-16 units.
        ("^.{2}$", "😀😀", true),
        ("^[😀-😂]$", "😁", true),
        // Named groups.
        ("^(?<year>\\d{4})-\\d{2}$", "2025-11", true),
    ])
    func matches(pattern: String, input: String, expected: Bool) throws {
        #expect(try ECMARegex(pattern).matches(input) == expected)
    }

    @Test(arguments: ["(", "a)", "[a", "*a", "a**", "+", "a{3,1}", "\\1", "(?<=a)b", "\\p{L}", "\\q", "[z-a]", "\\", "(?x)", "\\u{110000}"])
    func rejectsUnsupportedOrInvalidSyntax(pattern: String) {
        #expect(throws: RegexSyntaxError.self) { try ECMARegex(pattern) }
    }

    @Test func catastrophicBacktrackingStopsAtTheStepBudget() throws {
        let regex = try ECMARegex("^(a+)+$")
        #expect(regex.matches(String(repeating: "a", count: 40) + "b") == false)
        #expect(regex.matches(String(repeating: "a", count: 40)) == true)
    }

    @Test func longInputsDoNotExhaustTheStack() throws {
        let long = "/" + String(repeating: "p", count: 200_000)
        #expect(try ECMARegex("^/[^\\u0000-\\u001F\\u007F]*$").matches(long))
        #expect(try ECMARegex("^(?:p|/)*$").matches(long) == false)
    }
}
