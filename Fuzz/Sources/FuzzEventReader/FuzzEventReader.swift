import AnalyticsSpec
import FuzzSupport
import JSONSchemaValidation

// FastEventReader, the fast path of POST /event and POST /events, against the general path: JSONParser,
// the schema validator and EventDecoder's field extraction. The general path runs through an
// EventDecoder over a contract compiled from the same embedded documents with `Contract(documents:)`;
// that contract is not `isEmbedded`, so its decoder never takes the fast path itself.
//
// FastEventReader answers "valid, and here is the event" or nil ("not sure"). A nil is never a
// disagreement. An event is: the general path must accept the same bytes and produce the same event
// (same IDs from the same deterministic generator for events without event_id). Likewise for batches.

let general: EventDecoder = {
    do {
        let contract = try Contract(documents: Contract.embeddedDocuments)
        precondition(!contract.isEmbedded)
        return EventDecoder(contract: contract)
    } catch {
        fatalError("the embedded documents do not compile: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)

    var fastIDs = IDSequence()
    let fastEvent = FastEventReader.event(input) { fastIDs.next() }
    var generalIDs = IDSequence()
    let generalEvent = general.decodeEvent(input) { generalIDs.next() }
    if let fastEvent {
        guard case .success(let event) = generalEvent, sameEvent(event, fastEvent) else {
            disagreement("FastEventReader.event accepts what the general path refuses or reads differently", input: input, [
                "fast path: \(describe(fastEvent))",
                "general path: \(describe(generalEvent, describe))",
            ])
        }
    }

    var fastBatchIDs = IDSequence()
    let fastBatch = FastEventReader.batch(input) { fastBatchIDs.next() }
    var generalBatchIDs = IDSequence()
    let generalBatch = general.decodeBatch(input) { generalBatchIDs.next() }
    if let fastBatch {
        guard case .success(let events) = generalBatch, sameEvents(events, fastBatch) else {
            disagreement("FastEventReader.batch accepts what the general path refuses or reads differently", input: input, [
                "fast path: \(describe(fastBatch))",
                "general path: \(describe(generalBatch, describe))",
            ])
        }
    }
    return 0
}
