import Glibc

/// The key of a rollup row: a site, an event type, and the path or user it counts. Keys compare and hash
/// byte for byte, as PostgreSQL compares them under `COLLATE "C"`: Swift's `==` on strings would take
/// "café" in its composed and decomposed forms for one key where the database keeps two.
struct RollupKey: Hashable, Sendable {
    var siteID: String
    var eventType: String
    /// The path or the user.
    var item: String

    init(_ siteID: String, _ eventType: String, _ item: String) {
        self.siteID = siteID
        self.eventType = eventType
        self.item = item
    }

    static func == (lhs: RollupKey, rhs: RollupKey) -> Bool {
        sameBytes(lhs.siteID, rhs.siteID) && sameBytes(lhs.eventType, rhs.eventType) && sameBytes(lhs.item, rhs.item)
    }

    func hash(into hasher: inout Hasher) {
        Self.combine(siteID, into: &hasher)
        Self.combine(eventType, into: &hasher)
        Self.combine(item, into: &hasher)
    }

    private static func sameBytes(_ lhs: String, _ rhs: String) -> Bool {
        var lhs = lhs
        var rhs = rhs
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in
                left.count == right.count && (left.isEmpty || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0)
            }
        }
    }

    private static func combine(_ text: String, into hasher: inout Hasher) {
        var text = text
        text.withUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
    }
}
