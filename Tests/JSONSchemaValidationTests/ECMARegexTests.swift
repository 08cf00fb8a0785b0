import Testing

@testable import JSONSchemaValidation

@Suite struct ECMARegexTests {
    /// Found by fuzzing: 100,000 nested groups overflowed the parser's stack. Deep nesting is refused
    /// as a syntax error; nesting within the limit still compiles and matches.
    @Test(arguments: ["(", "(?:", "(?="])
    func deeplyNestedGroupsAreRefusedNotACrash(opening: String) throws {
        let deep = String(repeating: opening, count: 100_000) + "a" + String(repeating: ")", count: 100_000)
        #expect(throws: RegexSyntaxError.self) { try ECMARegex(deep) }
        let limit = RegexParser.maximumNesting
        let within = String(repeating: opening, count: limit - 1) + "a" + String(repeating: ")", count: limit - 1)
        #expect(try ECMARegex(within).matches("a"))
    }

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
        // Unicode property escapes, as in `u` mode: General_Category by long name, short name or alias.
        ("^\\p{Letter}+$", "\u{E9}cole", true),
        ("^\\p{L}+$", "\u{E9}cole1", false),
        ("^\\p{Lu}\\p{Ll}+$", "\u{C9}cole", true),
        ("^\\p{gc=Lu}$", "a", false),
        ("^\\p{General_Category=Uppercase_Letter}$", "\u{3A9}", true),
        ("^\\p{digit}+$", "\u{661}\u{662}3", true),
        ("^\\p{Nd}$", "\u{BD}", false),
        ("^\\p{N}$", "\u{BD}", true),
        ("^\\p{punct}$", "!", true),
        ("^\\p{Cn}$", "\u{378}", true),
        ("^\\P{L}+$", "123 !", true),
        ("^\\P{L}$", "a", false),
        // In classes, alone, negated, and beside other atoms; code points beyond the BMP.
        ("^[\\p{L}\\d_]+$", "\u{E9}t\u{E9}_2025", true),
        ("^[^\\p{L}]+$", "12-34", true),
        ("^[^\\p{L}]+$", "12a", false),
        ("^[\\P{N}]$", "5", false),
        ("^\\p{L}$", "\u{1D400}", true),
        // Binary properties.
        ("^\\p{Alphabetic}+$", "\u{65E5}\u{672C}", true),
        ("^\\p{Alpha}$", "1", false),
        ("^\\p{White_Space}$", "\u{2003}", true),
        ("^\\p{ASCII}+$", "plain", true),
        ("^\\p{ASCII}$", "\u{E9}", false),
        ("^\\p{Any}$", "\u{10FFFF}", true),
        ("^\\p{Assigned}$", "\u{378}", false),
        ("^\\p{ASCII_Hex_Digit}+$", "c0FFee", true),
        ("^\\p{Emoji}$", "\u{1F600}", true),
        ("^\\p{Emoji_Presentation}$", "#", false),
        ("^\\p{Regional_Indicator}{2}$", "\u{1F1EB}\u{1F1F7}", true),
        ("^\\p{Uppercase}$", "\u{2160}", true),
    ])
    func matches(pattern: String, input: String, expected: Bool) throws {
        #expect(try ECMARegex(pattern).matches(input) == expected)
    }

    @Test(arguments: ["(", "a)", "[a", "*a", "a**", "+", "a{3,1}", "\\1", "(?<=a)b", "\\q", "[z-a]", "\\", "(?x)", "\\u{110000}"])
    func rejectsUnsupportedOrInvalidSyntax(pattern: String) {
        #expect(throws: RegexSyntaxError.self) { try ECMARegex(pattern) }
    }

    /// `u` mode's grammar: braces required, names exact (no loose matching), and what this engine cannot
    /// answer exactly (scripts, properties the standard library does not expose) refused rather than guessed.
    @Test(arguments: [
        "\\pL", "\\p{L", "\\p{}", "\\p{letter}", "\\p{Letterx}", "\\p{gc=Alphabetic}", "\\p{Lu=gc}", "\\p{ L}",
        "\\p{Script=Latin}", "\\p{sc=Grek}", "\\p{Script_Extensions=Latin}", "\\p{scx=Latn}",
        "\\p{Extended_Pictographic}", "\\p{Emoji_Component}", "\\p{RGI_Emoji}", "[\\p{Foo}]",
    ])
    func rejectsUnknownOrUnsupportedProperties(pattern: String) {
        #expect(throws: RegexSyntaxError.self) { try ECMARegex(pattern) }
    }

    @Test func scriptsAreRefusedWithAReason() {
        #expect(throws: RegexSyntaxError(pattern: "\\p{Script=Latin}", reason: "Unicode scripts (Script=) are not supported")) {
            try ECMARegex("\\p{Script=Latin}")
        }
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
