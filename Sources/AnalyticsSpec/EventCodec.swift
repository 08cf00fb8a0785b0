import JSONSchemaValidation

/// The form events take in the queue: a JSON object that is itself a valid event under the contract,
/// with `event_id` always present and the timestamp in UTC with microseconds.
public enum EventCodec {
    public static func json(_ event: Event) -> JSONValue {
        .object(JSONObject(uniqueMembers: [
            ("event_id", .string(event.id.description)),
            ("site_id", .string(event.siteID)),
            ("event_type", .string(event.eventType)),
            ("path", .string(event.path)),
            ("user_id", event.userID.map(JSONValue.string) ?? .null),
            ("timestamp", .string(event.timestampText)),
        ]))
    }

    /// The payload: the same bytes as `JSONWriter.string(json(event))`, written without building the tree.
    public static func encode(_ event: Event) -> String {
        var output: [UInt8] = []
        output.reserveCapacity(140 + event.path.utf8.count)
        write(event, to: &output)
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends the payload's bytes.
    public static func write(_ event: Event, to output: inout [UInt8]) {
        output.append(contentsOf: #"{"event_id":""#.utf8)
        event.id.write(to: &output)
        output.append(contentsOf: #"","site_id":"#.utf8)
        JSONWriter.writeString(event.siteID, to: &output)
        output.append(contentsOf: #","event_type":"#.utf8)
        JSONWriter.writeString(event.eventType, to: &output)
        output.append(contentsOf: #","path":"#.utf8)
        JSONWriter.writeString(event.path, to: &output)
        output.append(contentsOf: #","user_id":"#.utf8)
        if let user = event.userID { JSONWriter.writeString(user, to: &output) } else { output.append(contentsOf: "null".utf8) }
        output.append(contentsOf: #","timestamp":""#.utf8)
        RFC3339Formatter.writeUTC(microseconds: event.timestamp, to: &output)
        output.append(contentsOf: #""}"#.utf8)
    }

    /// The event a payload holds, or nil when it is not one this codec wrote.
    public static func decode(_ payload: [UInt8]) -> Event? {
        payload.withUnsafeBufferPointer(decode)
    }

    public static func decode(_ payload: String) -> Event? {
        var payload = payload
        return payload.withUTF8(decode)
    }

    public static func decode(_ payload: UnsafeBufferPointer<UInt8>) -> Event? {
        var hasID = true
        if let event = FastEventReader.event(payload, newID: { hasID = false; return EventID(high: 0, low: 0) }), hasID {
            return event
        }
        guard let value = try? JSONParser.parse(payload) else { return nil }
        return decode(value)
    }

    public static func decode(_ value: JSONValue) -> Event? {
        guard let object = value.objectValue,
            let id = object["event_id"]?.stringValue.flatMap({ EventID($0) }),
            let site = object["site_id"]?.stringValue,
            let type = object["event_type"]?.stringValue,
            let path = object["path"]?.stringValue,
            let text = object["timestamp"]?.stringValue,
            case .success(let timestamp) = RFC3339.parseDateTime(text)
        else { return nil }
        return Event(
            id: id, siteID: site, eventType: type, path: path,
            userID: object["user_id"]?.stringValue, timestamp: timestamp.microsecondsSinceEpoch)
    }
}
