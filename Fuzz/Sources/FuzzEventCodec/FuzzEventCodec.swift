import AnalyticsSpec
import FuzzSupport
import JSONSchemaValidation

// Any bytes that EventDecoder (embedded contract, so fast path first) accepts as an event, with a fixed
// ID for an event without event_id, must survive the queue's codec:
// - EventCodec.encode writes the same text as JSONWriter.string(EventCodec.json(event)), as documented;
// - the payload is valid under the contract (Contract.embedded.event) and parses to EventCodec.json(event);
// - EventCodec.decode (from the String, from the bytes, and from the parsed JSONValue, which is the
//   codec's slow path) gives back an event equal to the first, strings compared by code points;
// - the general decoder (a non-embedded contract: JSONParser and the schema validator) reads the
//   payload as that same event too.

let fixedID = EventID(high: 0x0192_E4A0_7B1C_7CC3, low: 0x9A6E_3F4D_5E6A_7B8C)

let general: EventDecoder = {
    do {
        return EventDecoder(contract: try Contract(documents: Contract.embeddedDocuments))
    } catch {
        fatalError("the embedded documents do not compile: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    guard case .success(let event) = EventDecoder().decodeEvent(input, newID: { fixedID }) else { return 0 }

    let payload = EventCodec.encode(event)
    let written = JSONWriter.string(EventCodec.json(event))
    guard sameCodePoints(payload, written) else {
        disagreement("EventCodec.encode differs from JSONWriter.string(EventCodec.json(event))", input: input, [
            "event: \(describe(event))", "encode: \(swiftStringLiteral(payload))", "JSONWriter: \(swiftStringLiteral(written))",
        ])
    }
    let value: JSONValue
    do {
        value = try JSONParser.parse(payload)
    } catch {
        disagreement("the codec's payload is not JSON", input: input, [
            "event: \(describe(event))", "payload: \(swiftStringLiteral(payload))", "error: \(error)",
        ])
    }
    let violations = Contract.embedded.event.validate(value)
    guard violations.isEmpty else {
        disagreement("the codec's payload is not a valid event", input: input, [
            "event: \(describe(event))", "payload: \(swiftStringLiteral(payload))",
            "violations: \(violations.map(\.description).joined(separator: "; "))",
        ])
    }
    guard value == EventCodec.json(event) else {
        disagreement("the payload does not parse to EventCodec.json(event)", input: input, [
            "event: \(describe(event))", "payload: \(swiftStringLiteral(payload))",
        ])
    }
    let decodings: [(String, Event?)] = [
        ("EventCodec.decode(String)", EventCodec.decode(payload)),
        ("EventCodec.decode([UInt8])", EventCodec.decode(Array(payload.utf8))),
        ("EventCodec.decode(JSONValue)", EventCodec.decode(value)),
    ]
    for (name, decoded) in decodings {
        guard let decoded, sameEvent(decoded, event) else {
            disagreement("\(name) does not give back the encoded event", input: input, [
                "event: \(describe(event))", "payload: \(swiftStringLiteral(payload))",
                "decoded: \(decoded.map(describe) ?? "nil")",
            ])
        }
    }
    let reread = general.decodeEvent(Array(payload.utf8), newID: { EventID(high: 0, low: 0) })
    guard case .success(let again) = reread, sameEvent(again, event) else {
        disagreement("the general decoder does not read the payload as the encoded event", input: input, [
            "event: \(describe(event))", "payload: \(swiftStringLiteral(payload))",
            "general decoder: \(describe(reread, describe))",
        ])
    }
    return 0
}
