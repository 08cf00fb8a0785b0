/// The `format` values this validator asserts. Any other format is an annotation and always passes.
public enum FormatAssertion {
    /// The formats that are checked.
    public static let assertedFormats: Set<String> = ["date-time", "date", "time", "uuid"]

    /// Why `value` is not of `format`, or nil when it is (or the format is not asserted).
    public static func failure(format: String, value: String) -> String? {
        switch format {
        case "date-time":
            if case .failure(let failure) = RFC3339.parseDateTime(value) { return failure.reason }
            return nil
        case "date":
            if case .failure(let failure) = RFC3339.parseDate(value) { return failure.reason }
            return nil
        case "time":
            return RFC3339.validateTime(value)?.reason
        case "uuid":
            return UUIDText.isCanonical(value) ? nil : "must be a UUID as 8-4-4-4-12 hexadecimal digits"
        default:
            return nil
        }
    }
}

/// RFC 9562 UUID text.
public enum UUIDText {
    /// True for the canonical 8-4-4-4-12 form, hexadecimal digits in either case.
    public static func isCanonical(_ text: String) -> Bool {
        let bytes = text.utf8
        guard bytes.count == 36 else { return false }
        for (offset, byte) in bytes.enumerated() {
            switch offset {
            case 8, 13, 18, 23:
                guard byte == UInt8(ascii: "-") else { return false }
            default:
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                    UInt8(ascii: "A")...UInt8(ascii: "F"):
                    continue
                default:
                    return false
                }
            }
        }
        return true
    }
}
