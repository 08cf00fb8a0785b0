import Foundation

/// The opaque `cursor` of a breakdown page: where the page before ended (views and value of its last
/// row) and a fingerprint of the query it belongs to, in URL-safe base64.
///
/// The position is a key, not an offset: a page starts after that row whatever was added since. The
/// fingerprint (FNV-1a, not a secret: a forged cursor only names a position) makes a cursor given to
/// another query a 400 rather than a page of something else. The page size may change between pages.
enum BreakdownCursor {
    private static let version: UInt8 = 1

    static func make(after position: BreakdownQuery.Position, for query: BreakdownQuery) -> String {
        var bytes: [UInt8] = [version]
        append(fingerprint(of: query), to: &bytes)
        append(UInt64(position.views), to: &bytes)
        bytes += Array(position.value.utf8)
        return Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func position(in cursor: String, for query: BreakdownQuery) -> BreakdownQuery.Position? {
        var text = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
        guard let data = Data(base64Encoded: text), data.count > 17 else { return nil }
        let bytes = Array(data)
        guard bytes[0] == version, integer(bytes[1..<9]) == fingerprint(of: query) else { return nil }
        let views = integer(bytes[9..<17])
        guard views >= 1, views <= UInt64(Int.max), let value = String(validating: bytes[17...], as: UTF8.self) else { return nil }
        return BreakdownQuery.Position(views: Int(views), value: value)
    }

    /// What the rows of a breakdown depend on: not the page size, nor the cursor itself.
    private static func fingerprint(of query: BreakdownQuery) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ text: String) {
            for byte in text.utf8 + [0] {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
        }
        mix(query.siteID)
        mix(query.dimension.rawValue)
        mix(query.period.days.map { "\($0.lowerBound)/\($0.upperBound)" } ?? "all")
        mix(query.zone?.name ?? ReportingZone.utc.name)
        mix(query.eventType ?? "")
        return hash
    }

    private static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private static func integer(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reduce(0) { $0 << 8 | UInt64($1) }
    }
}
