import JSONSchemaValidation

/// Turns request bodies into validated `Event`s, reporting every violation of the contract otherwise.
public struct EventDecoder: Sendable {
    public let contract: Contract

    public init(contract: Contract = .embedded) {
        self.contract = contract
    }

    /// One event from a JSON body (the POST /event contract). `newID` supplies the ID of an event that has none.
    public func decodeEvent(_ body: UnsafeBufferPointer<UInt8>, newID: () -> EventID) -> Result<Event, ContractViolation> {
        let value: JSONValue
        switch Self.parse(body) {
        case .success(let parsed): value = parsed
        case .failure(let violation): return .failure(violation)
        }
        let errors = contract.event.validate(value)
        guard errors.isEmpty else { return .failure(ContractViolation(summary: "invalid event", details: errors)) }
        return .success(Self.event(fromValid: value, newID: newID))
    }

    /// A batch from a JSON body (the POST /events contract): every event, or every violation of every item.
    public func decodeBatch(_ body: UnsafeBufferPointer<UInt8>, newID: () -> EventID) -> Result<[Event], ContractViolation> {
        let value: JSONValue
        switch Self.parse(body) {
        case .success(let parsed): value = parsed
        case .failure(let violation): return .failure(violation)
        }
        let errors = contract.batch.validate(value)
        guard errors.isEmpty, case .array(let items) = value else {
            return .failure(ContractViolation(summary: "invalid batch", details: errors))
        }
        return .success(items.map { Self.event(fromValid: $0, newID: newID) })
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

    /// Builds the event from a value the event schema has accepted.
    static func event(fromValid value: JSONValue, newID: () -> EventID) -> Event {
        let object = value.objectValue!
        let timestamp: Int64
        switch RFC3339.parseDateTime(object["timestamp"]!.stringValue!) {
        case .success(let parsed): timestamp = parsed.microsecondsSinceEpoch
        case .failure(let failure): preconditionFailure("validated timestamp does not parse: \(failure.reason)")
        }
        let userID = object["user_id"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        return Event(
            id: object["event_id"]?.stringValue.flatMap { EventID($0) } ?? newID(),
            siteID: object["site_id"]!.stringValue!,
            eventType: object["event_type"]!.stringValue!,
            path: object["path"]!.stringValue!,
            userID: userID,
            timestamp: timestamp
        )
    }
}
