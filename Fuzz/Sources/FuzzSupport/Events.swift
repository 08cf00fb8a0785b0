import AnalyticsSpec
import JSONSchemaValidation

/// Field-by-field equality of events, strings by code points (`Event ==` uses Swift's string equality,
/// which is canonical equivalence and would let "é" and "e\u{301}" pass as the same path).
public func sameEvent(_ a: Event, _ b: Event) -> Bool {
    a.id == b.id && sameCodePoints(a.siteID, b.siteID) && sameCodePoints(a.eventType, b.eventType)
        && sameCodePoints(a.path, b.path) && sameCodePoints(a.userID, b.userID) && a.timestamp == b.timestamp
}

public func sameEvents(_ a: [Event], _ b: [Event]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { sameEvent($0, $1) }
}

public func describe(_ event: Event) -> String {
    "Event(id: \(event.id), siteID: \(swiftStringLiteral(event.siteID)), eventType: \(swiftStringLiteral(event.eventType)), "
        + "path: \(swiftStringLiteral(event.path)), userID: \(event.userID.map(swiftStringLiteral) ?? "nil"), "
        + "timestamp: \(event.timestamp) [\(RFC3339Formatter.utc(microseconds: event.timestamp))])"
}

public func describe(_ events: [Event]) -> String {
    "[" + events.map(describe).joined(separator: ", ") + "]"
}

public func describe(_ violation: ContractViolation) -> String {
    "ContractViolation(\(swiftStringLiteral(violation.summary)), omitted: \(violation.omitted), details: ["
        + violation.details.map { "\($0.instancePath) \($0.keyword): \($0.message)" }.joined(separator: "; ") + "])"
}

public func describe<Success>(_ result: Result<Success, ContractViolation>, _ success: (Success) -> String) -> String {
    switch result {
    case .success(let value): "success: " + success(value)
    case .failure(let violation): "failure: " + describe(violation)
    }
}

/// Deterministic IDs for events that carry none: the n-th call of one generator gives n. Each side of a
/// comparison gets a fresh generator, so both sides see the same sequence of IDs.
public struct IDSequence {
    public private(set) var issued: UInt64 = 0
    public init() {}
    public mutating func next() -> EventID {
        issued += 1
        return EventID(high: 0x0000_0000_0000_7000, low: 0x8000_0000_0000_0000 | issued)
    }
}
