import Synchronization

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
///
/// Shared by every version of a site's index (a reference, only ever growing): a newer version adds
/// numbers an older one never uses, so catching an index up does not copy the site's whole vocabulary.
final class Interner: Sendable {
    private struct State {
        var numbers: [ByteKey: UInt32] = [:]
        /// `texts[n - 1]` is the text numbered n.
        var texts: [String] = []
    }

    private let state = Mutex(State())

    /// How many numbers are given out; the largest is this.
    var count: Int { state.withLock { $0.texts.count } }

    func number(for text: String) -> UInt32 {
        let key = ByteKey(text: text)
        return state.withLock { state in
            if let number = state.numbers[key] { return number }
            state.texts.append(text)
            let number = UInt32(state.texts.count)
            state.numbers[key] = number
            return number
        }
    }

    func existingNumber(for text: String) -> UInt32? { state.withLock { $0.numbers[ByteKey(text: text)] } }

    func text(_ number: UInt32) -> String { state.withLock { $0.texts[Int(number) - 1] } }
}
