import JSONSchemaValidation

/// Turns request bodies into validated `Event`s, reporting every violation of the contract otherwise.
/// With the embedded contract, bodies on `FastEventReader`'s path skip the general validator.
public struct EventDecoder: Sendable {
    public let contract: Contract

    public init(contract: Contract = .embedded) {
        self.contract = contract
    }

    /// One event from a JSON body (the POST /event contract). `newID` supplies the ID of an event that has none.
    public func decodeEvent(_ body: UnsafeBufferPointer<UInt8>, newID: () -> EventID) -> Result<Event, ContractViolation> {
        if contract.isEmbedded, let event = FastEventReader.event(body, newID: newID) { return .success(event) }
        let value: JSONValue
        switch Self.parse(body) {
        case .success(let parsed): value = parsed
        case .failure(let violation): return .failure(violation)
        }
        let (errors, omitted) = contract.event.validate(value, keepingAtMost: ContractViolation.maximumDetails)
        guard errors.isEmpty else {
            return .failure(ContractViolation(summary: "invalid event", details: errors, omitted: omitted))
        }
        return Self.event(fromValid: value, at: .root, newID: newID)
    }

    /// A batch from a JSON body (the POST /events contract): every event, or every violation of every item.
    public func decodeBatch(_ body: UnsafeBufferPointer<UInt8>, newID: () -> EventID) -> Result<[Event], ContractViolation> {
        if contract.isEmbedded, let events = FastEventReader.batch(body, newID: newID) { return .success(events) }
        let value: JSONValue
        switch Self.parse(body) {
        case .success(let parsed): value = parsed
        case .failure(let violation): return .failure(violation)
        }
        // A batch over the limit is refused as a whole, before any of its items is looked at.
        if case .array(let items) = value, let limit = contract.batchMaximumItems, items.count > limit {
            return .failure(ContractViolation(summary: "invalid batch", details: [
                SchemaViolation(instancePath: .root, keyword: "maxItems", message: "must have at most \(limit) items (has \(items.count))"),
            ]))
        }
        let (errors, omitted) = contract.batch.validate(value, keepingAtMost: ContractViolation.maximumDetails)
        guard errors.isEmpty, case .array(let items) = value else {
            return .failure(ContractViolation(summary: "invalid batch", details: errors, omitted: omitted))
        }
        var events: [Event] = []
        events.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            switch Self.event(fromValid: item, at: JSONPointer([.index(index)]), newID: newID) {
            case .success(let event): events.append(event)
            case .failure(let violation): return .failure(violation)
            }
        }
        return .success(events)
    }

    public func decodeEvent(_ body: [UInt8], newID: () -> EventID) -> Result<Event, ContractViolation> {
        body.withUnsafeBufferPointer { decodeEvent($0, newID: newID) }
    }

    public func decodeBatch(_ body: [UInt8], newID: () -> EventID) -> Result<[Event], ContractViolation> {
        body.withUnsafeBufferPointer { decodeBatch($0, newID: newID) }
    }

    private static func parse(_ body: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, ContractViolation> {
        do {
            return .success(try JSONParser.parse(body))
        } catch {
            return .failure(.malformedJSON(error))
        }
    }

    /// Builds the event from a value the event schema has accepted. A contract whose event schema is
    /// looser than the standard one may accept values without the fields an event needs; those are
    /// reported, not trusted.
    static func event(fromValid value: JSONValue, at path: JSONPointer, newID: () -> EventID) -> Result<Event, ContractViolation> {
        func missing(_ field: String) -> Result<Event, ContractViolation> {
            .failure(ContractViolation(summary: "invalid event", details: [
                SchemaViolation(instancePath: path.appending(field), keyword: "required", message: "is required as a string"),
            ]))
        }
        guard let object = value.objectValue else {
            return .failure(ContractViolation(summary: "invalid event", details: [
                SchemaViolation(instancePath: path, keyword: "type", message: "must be an object"),
            ]))
        }
        guard let site = object["site_id"]?.stringValue else { return missing("site_id") }
        guard let type = object["event_type"]?.stringValue else { return missing("event_type") }
        guard let eventPath = object["path"]?.stringValue else { return missing("path") }
        guard let text = object["timestamp"]?.stringValue, case .success(let timestamp) = RFC3339.parseDateTime(text) else {
            return .failure(ContractViolation(summary: "invalid event", details: [
                SchemaViolation(instancePath: path.appending("timestamp"), keyword: "format", message: "must be an RFC 3339 date-time"),
            ]))
        }
        return .success(Event(
            id: object["event_id"]?.stringValue.flatMap { EventID($0) } ?? newID(),
            siteID: site,
            eventType: type,
            path: eventPath,
            userID: object["user_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
            timestamp: timestamp.microsecondsSinceEpoch
        ))
    }
}
