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

    public static func encode(_ event: Event) -> String {
        JSONWriter.string(json(event))
    }

    /// The event a payload holds, or nil when it is not one this codec wrote.
    public static func decode(_ payload: [UInt8]) -> Event? {
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
