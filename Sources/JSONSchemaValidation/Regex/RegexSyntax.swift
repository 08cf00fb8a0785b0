/// A pattern that is not a regular expression this engine accepts.
public struct RegexSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let pattern: String
    public let reason: String
    public var description: String { "invalid pattern \(pattern): \(reason)" }
}

/// A set of code points, as written in a character class or a class escape.
struct ScalarSet: Sendable {
    var ranges: [ClosedRange<UInt32>]
    /// What few sets have: `\p{…}` properties, and negated sets inside a class. Nil for the others, so that
    /// the common set, copied out of the pattern for every code point it is tried on, holds only two
    /// reference-counted fields, one of them usually nil.
    private(set) var rare: Rare?
    var negated: Bool

    /// The rare parts of a set; immutable, so sets sharing one stay values.
    final class Rare: Sendable {
        /// The set holds every scalar that has one of these properties...
        let properties: [UnicodeProperty]
        /// ... and every scalar that one of these sets does not hold.
        let complementedSets: [ScalarSet]

        init(properties: [UnicodeProperty], complementedSets: [ScalarSet]) {
            self.properties = properties
            self.complementedSets = complementedSets
        }

        /// Out of line, so that `ScalarSet.contains` stays small for the sets that have none of this.
        @inline(never)
        func contains(_ scalar: UInt32) -> Bool {
            for property in properties where property.contains(scalar) { return true }
            for set in complementedSets where !set.contains(scalar) { return true }
            return false
        }
    }

    init(
        ranges: [ClosedRange<UInt32>] = [], properties: [UnicodeProperty] = [], complementedSets: [ScalarSet] = [],
        negated: Bool = false
    ) {
        self.ranges = ranges
        self.negated = negated
        rare = nil
        add(properties: properties, complementedSets: complementedSets)
    }

    var properties: [UnicodeProperty] { rare?.properties ?? [] }
    var complementedSets: [ScalarSet] { rare?.complementedSets ?? [] }

    mutating func add(properties: [UnicodeProperty], complementedSets: [ScalarSet]) {
        guard !properties.isEmpty || !complementedSets.isEmpty else { return }
        rare = Rare(properties: self.properties + properties, complementedSets: self.complementedSets + complementedSets)
    }

    func contains(_ scalar: UInt32) -> Bool {
        var found = false
        for range in ranges where range.contains(scalar) {
            found = true
            break
        }
        if !found, let rare {
            found = rare.contains(scalar)
        }
        return found != negated
    }

    static let digits = ScalarSet(ranges: [0x30...0x39])
    static let wordCharacters = ScalarSet(ranges: [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    /// ECMA-262 WhiteSpace and LineTerminator.
    static let whitespace = ScalarSet(ranges: [
        0x09...0x0D, 0x20...0x20, 0xA0...0xA0, 0x1680...0x1680, 0x2000...0x200A,
        0x2028...0x2029, 0x202F...0x202F, 0x205F...0x205F, 0x3000...0x3000, 0xFEFF...0xFEFF,
    ])
    static let lineTerminators = ScalarSet(ranges: [0x0A...0x0A, 0x0D...0x0D, 0x2028...0x2029])

    var inverted: ScalarSet {
        var copy = self
        copy.negated.toggle()
        return copy
    }
}

/// The parsed form of an ECMA-262 pattern.
indirect enum RegexNode: Sendable {
    case empty
    case scalar(UInt32)
    case set(ScalarSet)
    case sequence([RegexNode])
    case alternation([RegexNode])
    case group(RegexNode)
    case quantified(RegexNode, min: Int, max: Int?, greedy: Bool)
    case lineStart
    case lineEnd
    case wordBoundary(negated: Bool)
    case lookahead(RegexNode, negated: Bool)

    /// True when the node consumes exactly one code point and has no side effects, so a
    /// quantifier over it can run as a loop instead of by recursion.
    var singleScalarMatcher: Bool {
        switch self {
        case .scalar, .set: true
        default: false
        }
    }
}

/// Parses the ECMA-262 pattern grammar (with the `u` flag's code-point semantics, including `\p{…}` and
/// `\P{…}` property escapes; see `UnicodeProperty` for which properties). Backreferences, lookbehind and
/// Unicode scripts are rejected rather than misread.
struct RegexParser {
    /// How deeply groups may nest: the parser recurses once a level, and a pattern of 100,000 nested
    /// groups (found by FuzzRegex's author) overflowed the stack of `analytics validate --schema`.
    static let maximumNesting = 256

    private let pattern: String
    private let scalars: [UInt32]
    private var index = 0
    private var nesting = 0

    init(_ pattern: String) {
        self.pattern = pattern
        self.scalars = pattern.unicodeScalars.map(\.value)
    }

    mutating func parse() throws(RegexSyntaxError) -> RegexNode {
        let node = try parseDisjunction()
        guard index == scalars.count else { throw fail("unmatched ')'") }
        return node
    }

    private func fail(_ reason: String) -> RegexSyntaxError { RegexSyntaxError(pattern: pattern, reason: reason) }

    private var current: UInt32? { index < scalars.count ? scalars[index] : nil }

    private func peek(_ offset: Int) -> UInt32? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    private mutating func parseDisjunction() throws(RegexSyntaxError) -> RegexNode {
        nesting += 1
        defer { nesting -= 1 }
        guard nesting <= Self.maximumNesting else { throw fail("groups nested deeper than \(Self.maximumNesting) levels") }
        var alternatives = [try parseAlternative()]
        while current == ascii("|") {
            index += 1
            alternatives.append(try parseAlternative())
        }
        return alternatives.count == 1 ? alternatives[0] : .alternation(alternatives)
    }

    private mutating func parseAlternative() throws(RegexSyntaxError) -> RegexNode {
        var terms: [RegexNode] = []
        while let c = current, c != ascii("|"), c != ascii(")") {
            terms.append(try parseTerm())
        }
        switch terms.count {
        case 0: return .empty
        case 1: return terms[0]
        default: return .sequence(terms)
        }
    }

    private mutating func parseTerm() throws(RegexSyntaxError) -> RegexNode {
        let c = current!
        switch c {
        case ascii("^"):
            index += 1
            return .lineStart
        case ascii("$"):
            index += 1
            return .lineEnd
        case ascii("\\") where peek(1) == ascii("b"):
            index += 2
            return .wordBoundary(negated: false)
        case ascii("\\") where peek(1) == ascii("B"):
            index += 2
            return .wordBoundary(negated: true)
        case ascii("(") where peek(1) == ascii("?") && (peek(2) == ascii("=") || peek(2) == ascii("!")):
            let negated = peek(2) == ascii("!")
            index += 3
            let body = try parseDisjunction()
            guard current == ascii(")") else { throw fail("missing ')'") }
            index += 1
            // Annex B allows quantifying a lookahead; the quantifier changes nothing observable here.
            return try parseQuantifier(for: .lookahead(body, negated: negated))
        default:
            let atom = try parseAtom()
            return try parseQuantifier(for: atom)
        }
    }

    private mutating func parseAtom() throws(RegexSyntaxError) -> RegexNode {
        let c = current!
        switch c {
        case ascii("."):
            index += 1
            return .set(ScalarSet.lineTerminators.inverted)
        case ascii("("):
            index += 1
            if current == ascii("?") {
                if peek(1) == ascii(":") {
                    index += 2
                } else if peek(1) == ascii("<"), let next = peek(2), next != ascii("="), next != ascii("!") {
                    index += 2
                    while let n = current, n != ascii(">") { index += 1 }
                    guard current == ascii(">") else { throw fail("unterminated group name") }
                    index += 1
                } else if peek(1) == ascii("<") {
                    throw fail("lookbehind is not supported")
                } else {
                    throw fail("invalid group")
                }
            }
            let body = try parseDisjunction()
            guard current == ascii(")") else { throw fail("missing ')'") }
            index += 1
            return .group(body)
        case ascii("["):
            return .set(try parseClass())
        case ascii("\\"):
            index += 1
            return try parseAtomEscape()
        case ascii("*"), ascii("+"), ascii("?"):
            throw fail("nothing to repeat")
        case ascii("{") where quantifierBounds(at: index) != nil:
            throw fail("nothing to repeat")
        default:
            index += 1
            return .scalar(c)
        }
    }

    private mutating func parseQuantifier(for atom: RegexNode) throws(RegexSyntaxError) -> RegexNode {
        guard let c = current else { return atom }
        var bounds: (min: Int, max: Int?)
        switch c {
        case ascii("*"): bounds = (0, nil); index += 1
        case ascii("+"): bounds = (1, nil); index += 1
        case ascii("?"): bounds = (0, 1); index += 1
        case ascii("{"):
            guard let (parsed, end) = quantifierBounds(at: index) else { return atom }
            bounds = parsed
            index = end
        default:
            return atom
        }
        if let max = bounds.max, max < bounds.min { throw fail("quantifier range out of order") }
        var greedy = true
        if current == ascii("?") {
            greedy = false
            index += 1
        }
        return .quantified(atom, min: bounds.min, max: bounds.max, greedy: greedy)
    }

    /// `{n}`, `{n,}` or `{n,m}` starting at `position`, with the index just past it.
    private func quantifierBounds(at position: Int) -> ((min: Int, max: Int?), Int)? {
        var i = position + 1
        func number() -> Int? {
            var value: Int?
            while i < scalars.count, (0x30...0x39).contains(scalars[i]) {
                value = min((value ?? 0) * 10 + Int(scalars[i] - 0x30), 1_000_000)
                i += 1
            }
            return value
        }
        guard let low = number() else { return nil }
        var high: Int? = low
        if i < scalars.count, scalars[i] == ascii(",") {
            i += 1
            high = number()
        }
        guard i < scalars.count, scalars[i] == ascii("}") else { return nil }
        return ((low, high), i + 1)
    }

    private mutating func parseAtomEscape() throws(RegexSyntaxError) -> RegexNode {
        guard let c = current else { throw fail("pattern ends with '\\'") }
        if (0x31...0x39).contains(c) || c == ascii("k") { throw fail("backreferences are not supported") }
        if let set = try parseClassEscape() { return .set(set) }
        return .scalar(try parseCharacterEscape())
    }

    /// `\d \D \w \W \s \S`; nil when the escape is not one of them. Consumes it when it is.
    private mutating func parseClassEscape() throws(RegexSyntaxError) -> ScalarSet? {
        guard let c = current else { return nil }
        let set: ScalarSet
        switch c {
        case ascii("d"): set = .digits
        case ascii("D"): set = ScalarSet.digits.inverted
        case ascii("w"): set = .wordCharacters
        case ascii("W"): set = ScalarSet.wordCharacters.inverted
        case ascii("s"): set = .whitespace
        case ascii("S"): set = ScalarSet.whitespace.inverted
        case ascii("p"), ascii("P"):
            index += 1
            let property = try parsePropertyName()
            let set = ScalarSet(properties: [property])
            return c == ascii("P") ? set.inverted : set
        default: return nil
        }
        index += 1
        return set
    }

    /// `{Name}` or `{Name=Value}` after `\p` or `\P`; the `u` flag requires the braces.
    private mutating func parsePropertyName() throws(RegexSyntaxError) -> UnicodeProperty {
        guard current == ascii("{") else { throw fail("\\p and \\P need a property name in braces") }
        index += 1
        var name = ""
        while let c = current, c != ascii("}") {
            let isNameCharacter = (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
                || c == ascii("_") || c == ascii("=")
            guard isNameCharacter else { throw fail("invalid Unicode property name") }
            name.unicodeScalars.append(Unicode.Scalar(c)!)
            index += 1
        }
        guard current == ascii("}") else { throw fail("unterminated Unicode property escape") }
        index += 1
        switch UnicodeProperty.parse(name) {
        case .success(let property): return property
        case .failure(.unknown): throw fail("unknown Unicode property \(name)")
        case .failure(.unsupported(let reason)): throw fail(reason)
        }
    }

    /// A character escape after the backslash: control escapes, `\cX`, `\0`, `\xHH`, `\uHHHH`, `\u{…}`,
    /// or an identity escape of a non-alphanumeric character.
    private mutating func parseCharacterEscape() throws(RegexSyntaxError) -> UInt32 {
        let c = current!
        index += 1
        switch c {
        case ascii("t"): return 0x09
        case ascii("n"): return 0x0A
        case ascii("v"): return 0x0B
        case ascii("f"): return 0x0C
        case ascii("r"): return 0x0D
        case ascii("0"):
            if let next = current, (0x30...0x39).contains(next) { throw fail("octal escapes are not supported") }
            return 0
        case ascii("c"):
            guard let letter = current, (0x41...0x5A).contains(letter) || (0x61...0x7A).contains(letter) else {
                throw fail("invalid \\c escape")
            }
            index += 1
            return letter % 32
        case ascii("x"):
            return try parseHex(count: 2)
        case ascii("u"):
            if current == ascii("{") {
                index += 1
                var value: UInt32 = 0
                var digits = 0
                while let d = current, let digit = hexValue(d) {
                    value = value &* 16 &+ digit
                    digits += 1
                    index += 1
                }
                guard digits > 0, current == ascii("}"), value <= 0x10FFFF else { throw fail("invalid \\u{…} escape") }
                index += 1
                return value
            }
            let high = try parseHex(count: 4)
            if (0xD800...0xDBFF).contains(high), current == ascii("\\"), peek(1) == ascii("u") {
                let saved = index
                index += 2
                if let low = try? parseHex(count: 4), (0xDC00...0xDFFF).contains(low) {
                    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                }
                index = saved
            }
            return high
        default:
            let isAlphanumeric = (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c)
            if isAlphanumeric { throw fail("unknown escape \\\(Character(Unicode.Scalar(c)!))") }
            return c
        }
    }

    private mutating func parseHex(count: Int) throws(RegexSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<count {
            guard let c = current, let digit = hexValue(c) else { throw fail("invalid hexadecimal escape") }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    private func hexValue(_ c: UInt32) -> UInt32? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    private enum ClassAtom {
        case scalar(UInt32)
        case set(ScalarSet)
    }

    private mutating func parseClass() throws(RegexSyntaxError) -> ScalarSet {
        index += 1
        var set = ScalarSet()
        if current == ascii("^") {
            set.negated = true
            index += 1
        }
        while true {
            guard let c = current else { throw fail("unterminated character class") }
            if c == ascii("]") {
                index += 1
                return set
            }
            let first = try parseClassAtom()
            if current == ascii("-"), let next = peek(1), next != ascii("]") {
                index += 1
                let second = try parseClassAtom()
                switch (first, second) {
                case (.scalar(let low), .scalar(let high)):
                    guard low <= high else { throw fail("character class range out of order") }
                    set.ranges.append(low...high)
                default:
                    // Annex B: a range with a class escape at either end is the atoms and a literal '-'.
                    for atom in [first, .scalar(ascii("-")), second] { add(atom, to: &set) }
                }
            } else {
                add(first, to: &set)
            }
        }
    }

    private func add(_ atom: ClassAtom, to set: inout ScalarSet) {
        switch atom {
        case .scalar(let s): set.ranges.append(s...s)
        case .set(let inner):
            if inner.negated {
                var positive = inner
                positive.negated = false
                set.add(properties: [], complementedSets: [positive])
            } else {
                set.ranges += inner.ranges
                set.add(properties: inner.properties, complementedSets: inner.complementedSets)
            }
        }
    }

    private mutating func parseClassAtom() throws(RegexSyntaxError) -> ClassAtom {
        let c = current!
        guard c == ascii("\\") else {
            index += 1
            return .scalar(c)
        }
        index += 1
        guard let escaped = current else { throw fail("pattern ends with '\\'") }
        if escaped == ascii("b") {
            index += 1
            return .scalar(0x08)
        }
        if escaped == ascii("-") {
            index += 1
            return .scalar(escaped)
        }
        if (0x31...0x39).contains(escaped) { throw fail("backreferences are not supported") }
        if let set = try parseClassEscape() { return .set(set) }
        return .scalar(try parseCharacterEscape())
    }
}

@inline(__always) func ascii(_ character: Unicode.Scalar) -> UInt32 { character.value }
