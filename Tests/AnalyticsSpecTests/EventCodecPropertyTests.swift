import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing

/// Whatever the contract accepts, the queue's entry form carries unchanged: random events over the
/// whole valid range of every field, and timestamps written with random offsets near the first and
/// last days the contract accepts, go through `EventCodec` and come back equal.
@Suite struct EventCodecPropertyTests {
    static let seed: UInt64 = 0x5EED_C0DEC

    /// A random string of `count` code points drawn from several scripts, within `maximumBytes`.
    static func text(_ count: Int, maximumBytes: Int, using generator: inout SeededGenerator) -> String {
        let ranges: [ClosedRange<UInt32>] = [0x20...0x7E, 0xA0...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF]
        var scalars = String.UnicodeScalarView()
        var bytes = 0
        for _ in 0..<count {
            let range = ranges.randomElement(using: &generator)!
            guard let scalar = Unicode.Scalar(UInt32.random(in: range, using: &generator)), scalar.value != 0x7F else { continue }
            let width = String(scalar).utf8.count
            guard bytes + width <= maximumBytes else { break }
            bytes += width
            scalars.append(scalar)
        }
        return String(scalars)
    }

    static func identifier(_ maximum: Int, using generator: inout SeededGenerator) -> String {
        let first = Array("abcXYZ019")
        let rest = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-")
        let count = Int.random(in: 1...maximum, using: &generator)
        return String(first.randomElement(using: &generator)!) + String((1..<count).map { _ in rest.randomElement(using: &generator)! })
    }

    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z, in microseconds since 1970.
    static let first: Int64 = -62_135_596_800_000_000
    static let last: Int64 = 253_402_300_799_999_999

    @Test func randomEventsOverEveryFieldsRangeRoundTrip() throws {
        var generator = SeededGenerator(seed: Self.seed)
        for round in 0..<3000 {
            let timestamp: Int64 = switch round % 4 {
            case 0: Self.first + Int64.random(in: 0..<86_400_000_000 * 2, using: &generator)
            case 1: Self.last - Int64.random(in: 0..<86_400_000_000 * 2, using: &generator)
            default: Int64.random(in: Self.first...Self.last, using: &generator)
            }
            let pathLength = [1, 10, 300, 2048].randomElement(using: &generator)!
            let event = Event(
                id: EventID(high: generator.next(), low: generator.next()),
                siteID: Self.identifier(128, using: &generator),
                eventType: Self.identifier(64, using: &generator),
                path: "/" + Self.text(pathLength - 1, maximumBytes: 2047, using: &generator),
                userID: Bool.random(using: &generator) ? nil : "u" + Self.text(Int.random(in: 0...255, using: &generator), maximumBytes: 255, using: &generator),
                timestamp: timestamp)
            let payload = EventCodec.encode(event)
            #expect(Contract.embedded.event.validate(try JSONParser.parse(payload)).isEmpty, "seed \(Self.seed) round \(round): \(payload.prefix(100))")
            #expect(EventCodec.decode(payload) == event, "seed \(Self.seed) round \(round)")
            #expect(EventCodec.decode(Array(payload.utf8)) == event, "seed \(Self.seed) round \(round)")
        }
    }

    /// Timestamps on the first and last two days of the range, with every kind of offset: each one the
    /// contract accepts (by either reader) is carried to the same instant.
    @Test func acceptedTimestampsNearTheEdgesRoundTrip() throws {
        var generator = SeededGenerator(seed: Self.seed)
        var accepted = 0
        for _ in 0..<4000 {
            let date = ["0001-01-01", "0001-01-02", "9999-12-30", "9999-12-31"].randomElement(using: &generator)!
            let time = String(format2(Int.random(in: 0...23, using: &generator))) + ":" + format2(Int.random(in: 0...59, using: &generator))
                + ":" + format2(Int.random(in: 0...59, using: &generator))
            let fraction = Bool.random(using: &generator) ? "" : "." + String(Int.random(in: 0...999_999, using: &generator))
            let offset = ["Z", "+00:00", "-00:00", "+" + format2(Int.random(in: 0...23, using: &generator)) + ":" + format2(Int.random(in: 0...59, using: &generator)),
                          "-" + format2(Int.random(in: 0...23, using: &generator)) + ":" + format2(Int.random(in: 0...59, using: &generator))]
                .randomElement(using: &generator)!
            let text = date + "T" + time + fraction + offset
            let body = Array(#"{"site_id":"s","event_type":"view","path":"/","timestamp":"\#(text)"}"#.utf8)
            let generic = try JSONParser.parse(body)
            let validByTheSchema = Contract.embedded.event.validate(generic).isEmpty
            let fast = body.withUnsafeBufferPointer { FastEventReader.event($0) { EventID(high: 1, low: 2) } }
            if fast != nil { #expect(validByTheSchema, "\(text)") }
            guard validByTheSchema else { continue }
            accepted += 1
            let event = try EventDecoder().decodeEvent(body) { EventID(high: 1, low: 2) }.get()
            #expect(event.timestamp >= Self.first && event.timestamp <= Self.last, "\(text)")
            #expect(EventCodec.decode(EventCodec.encode(event)) == event, "\(text) -> \(EventCodec.encode(event))")
        }
        #expect(accepted > 1000)
    }
}

private func format2(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
