/// Text compared and hashed by its UTF-8 bytes, as PostgreSQL's "C" collation compares it: Swift's
/// String equality is canonical equivalence, under which "é" and "e\u{301}" would be one path.
struct ByteKey: Hashable, Sendable {
    let text: String

    static func == (lhs: ByteKey, rhs: ByteKey) -> Bool { lhs.text.utf8.elementsEqual(rhs.text.utf8) }

    func hash(into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Numbers for the texts of one kind (event types, paths, users) of a site, from 1 up, in the order they
/// first appear: the aggregates keep numbers, and the answers turn them back into text.
struct Interner: Sendable {
    private var numbers: [ByteKey: UInt32] = [:]
    /// `texts[n - 1]` is the text numbered n.
    private(set) var texts: [String] = []

    /// How many numbers are given out; the largest is this.
    var count: Int { texts.count }

    mutating func number(for text: String) -> UInt32 {
        let key = ByteKey(text: text)
        if let number = numbers[key] { return number }
        texts.append(text)
        let number = UInt32(texts.count)
        numbers[key] = number
        return number
    }

    func existingNumber(for text: String) -> UInt32? { numbers[ByteKey(text: text)] }

    func text(_ number: UInt32) -> String { texts[Int(number) - 1] }
}
