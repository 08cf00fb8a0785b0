/// An RFC 6901 JSON Pointer, such as `/events/3/site_id`.
public struct JSONPointer: Sendable, Hashable, CustomStringConvertible, Comparable {
    public enum Token: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public private(set) var tokens: [Token]

    public init(_ tokens: [Token] = []) { self.tokens = tokens }

    /// Parses the string form; returns nil when it is not a pointer (non-empty and not starting with "/").
    public init?(parsing text: String) {
        if text.isEmpty { self.init(); return }
        guard text.hasPrefix("/") else { return nil }
        var tokens: [Token] = []
        for part in text.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            tokens.append(.key(String(part.replacing("~1", with: "/").replacing("~0", with: "~"))))
        }
        self.init(tokens)
    }

    public static let root = JSONPointer()

    public func appending(_ key: String) -> JSONPointer { JSONPointer(tokens + [.key(key)]) }
    public func appending(_ index: Int) -> JSONPointer { JSONPointer(tokens + [.index(index)]) }

    public mutating func append(_ token: Token) { tokens.append(token) }
    public mutating func removeLast() { tokens.removeLast() }

    public var description: String {
        var result = ""
        for token in tokens {
            result += "/"
            switch token {
            case .index(let i): result += String(i)
            case .key(let k):
                if k.contains("~") || k.contains("/") {
                    result += k.replacing("~", with: "~0").replacing("/", with: "~1")
                } else {
                    result += k
                }
            }
        }
        return result
    }

    /// The value this pointer designates inside `document`, if any. Keys that look like
    /// numbers index arrays, as RFC 6901 prescribes.
    public func resolve(in document: JSONValue) -> JSONValue? {
        var current = document
        for token in tokens {
            switch (current, token) {
            case (.object(let object), .key(let key)):
                guard let next = object[key] else { return nil }
                current = next
            case (.object(let object), .index(let index)):
                guard let next = object[String(index)] else { return nil }
                current = next
            case (.array(let array), .index(let index)):
                guard array.indices.contains(index) else { return nil }
                current = array[index]
            case (.array(let array), .key(let key)):
                guard let index = Int(key), String(index) == key, array.indices.contains(index) else { return nil }
                current = array[index]
            default:
                return nil
            }
        }
        return current
    }

    public static func < (lhs: JSONPointer, rhs: JSONPointer) -> Bool { lhs.description < rhs.description }
}
