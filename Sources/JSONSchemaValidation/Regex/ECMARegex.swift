/// A regular expression with ECMA-262 semantics, as JSON Schema's `pattern` requires:
/// `$` matches only at the end of the input, `\d` and `\w` are ASCII, `.` excludes line terminators,
/// and matching is by Unicode code point. Matching is a search, not a full match.
public struct ECMARegex: Sendable {
    public let pattern: String
    private let root: RegexNode
    private let anchoredAtStart: Bool

    /// Backtracking steps one search may take before it gives up and reports no match.
    public static let stepBudget = 1_000_000

    public init(_ pattern: String) throws(RegexSyntaxError) {
        var parser = RegexParser(pattern)
        self.pattern = pattern
        self.root = try parser.parse()
        switch root {
        case .lineStart: anchoredAtStart = true
        case .sequence(let terms): if case .lineStart = terms.first { anchoredAtStart = true } else { anchoredAtStart = false }
        default: anchoredAtStart = false
        }
    }

    /// True when the pattern matches somewhere in `string`.
    public func matches(_ string: String) -> Bool {
        let input = string.unicodeScalars.map(\.value)
        let matcher = Matcher(input: input)
        let lastStart = anchoredAtStart ? 0 : input.count
        for start in 0...lastStart {
            if matcher.match(root, start, { _ in true }) { return true }
            if matcher.exhausted { return false }
        }
        return false
    }
}

private final class Matcher {
    let input: [UInt32]
    var steps = 0
    var depth = 0
    private(set) var exhausted = false

    private static let maximumDepth = 4_000

    init(input: [UInt32]) { self.input = input }

    func match(_ node: RegexNode, _ position: Int, _ next: (Int) -> Bool) -> Bool {
        steps += 1
        depth += 1
        defer { depth -= 1 }
        if steps > ECMARegex.stepBudget || depth > Self.maximumDepth { exhausted = true }
        if exhausted { return false }

        switch node {
        case .empty:
            return next(position)
        case .scalar(let scalar):
            return position < input.count && input[position] == scalar && next(position + 1)
        case .set(let set):
            return position < input.count && set.contains(input[position]) && next(position + 1)
        case .sequence(let terms):
            return matchSequence(terms, 0, position, next)
        case .alternation(let alternatives):
            for alternative in alternatives where match(alternative, position, next) { return true }
            return false
        case .group(let body):
            return match(body, position, next)
        case .lineStart:
            return position == 0 && next(position)
        case .lineEnd:
            return position == input.count && next(position)
        case .wordBoundary(let negated):
            let before = position > 0 && ScalarSet.wordCharacters.contains(input[position - 1])
            let after = position < input.count && ScalarSet.wordCharacters.contains(input[position])
            return ((before != after) != negated) && next(position)
        case .lookahead(let body, let negated):
            let found = match(body, position, { _ in true })
            if exhausted { return false }
            return found != negated && next(position)
        case .quantified(let body, let min, let max, let greedy):
            if body.singleScalarMatcher {
                return matchSimpleRepetition(body, min: min, max: max, greedy: greedy, position, next)
            }
            return matchRepetition(body, min: min, max: max, greedy: greedy, count: 0, position, next)
        }
    }

    private func matchSequence(_ terms: [RegexNode], _ index: Int, _ position: Int, _ next: (Int) -> Bool) -> Bool {
        guard index < terms.count else { return next(position) }
        return match(terms[index], position) { after in
            self.matchSequence(terms, index + 1, after, next)
        }
    }

    private func consumes(_ node: RegexNode, _ position: Int) -> Bool {
        guard position < input.count else { return false }
        switch node {
        case .scalar(let scalar): return input[position] == scalar
        case .set(let set): return set.contains(input[position])
        default: return false
        }
    }

    /// A quantifier over one code point: count how far it can reach, then try the rest from each length.
    private func matchSimpleRepetition(
        _ body: RegexNode, min: Int, max: Int?, greedy: Bool, _ position: Int, _ next: (Int) -> Bool
    ) -> Bool {
        let limit = Swift.min(max ?? Int.max, input.count - position)
        var reach = 0
        while reach < limit, consumes(body, position + reach) { reach += 1 }
        // The scan counts too: from every start of an unanchored search it may cover most of the input.
        steps += reach
        if steps > ECMARegex.stepBudget { exhausted = true; return false }
        guard reach >= min else { return false }
        if greedy {
            var count = reach
            while count >= min {
                steps += 1
                if steps > ECMARegex.stepBudget { exhausted = true; return false }
                if next(position + count) { return true }
                count -= 1
            }
        } else {
            for count in min...reach {
                steps += 1
                if steps > ECMARegex.stepBudget { exhausted = true; return false }
                if next(position + count) { return true }
            }
        }
        return false
    }

    private func matchRepetition(
        _ body: RegexNode, min: Int, max: Int?, greedy: Bool, count: Int, _ position: Int, _ next: (Int) -> Bool
    ) -> Bool {
        if count < min {
            return match(body, position) { after in
                self.matchRepetition(body, min: min, max: max, greedy: greedy, count: count + 1, after, next)
            }
        }
        if let max, count >= max { return next(position) }
        // An iteration that matches the empty string ends the loop, as ECMA-262 specifies.
        func iterate() -> Bool {
            match(body, position) { after in
                after != position
                    && self.matchRepetition(body, min: min, max: max, greedy: greedy, count: count + 1, after, next)
            }
        }
        if greedy {
            return iterate() || (!exhausted && next(position))
        }
        return next(position) || (!exhausted && iterate())
    }
}
