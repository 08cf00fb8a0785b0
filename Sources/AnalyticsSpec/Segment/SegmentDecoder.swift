import JSONSchemaValidation

/// Reads the bodies of Segment's HTTP Tracking API (`POST /v1/track` … `/v1/batch`) and maps their
/// messages to events, as docs/segment.md states and fixtures/segment holds case by case.
///
/// Two steps, because the site is known only once the write key is: `parse` validates a body against
/// spec/segment-*.schema.json and yields its messages and the write key it names, if any; `events`
/// maps the messages of a site to events, each checked against the event contract.
public struct SegmentDecoder: Sendable {
    /// The most bytes a message takes as compact JSON, as Segment allows.
    public static let maximumMessageBytes = 32 * 1024
    /// The most bytes a batch body takes, as Segment allows.
    public static let maximumBatchBytes = 500 * 1024
    /// The namespace of the UUIDv5 a `messageId` that is not a UUID becomes: itself the UUIDv5 of
    /// `https://analytics.example/spec/segment-common.schema.json` in RFC 9562's URL namespace.
    public static let messageIDNamespace = EventID("3874400c-85dc-51ff-80b9-0e49cdabf3a2")!

    /// Which endpoint a body came to.
    public enum Body: Sendable, Equatable {
        case message(SegmentMessageType)
        /// `/v1/batch` and `/v1/import`.
        case batch
    }

    /// A valid body: its messages, in order, and what it says of the sender.
    public struct Request: Sendable {
        public struct Message: Sendable {
            public let type: SegmentMessageType
            public let object: JSONObject
            /// Where the message is in the body: the root, or `/batch/N`.
            public let pointer: JSONPointer
        }

        public let messages: [Message]
        /// The body's `writeKey`, for senders that do not use HTTP Basic.
        public let writeKey: String?
        /// A batch's `sentAt`, for its messages without their own.
        let batchSentAt: Int64?
    }

    /// The events of a request and how many messages of each type it held.
    public struct Mapped: Sendable, Equatable {
        public var events: [Event] = []
        public var counts: [SegmentMessageType: Int] = [:]
    }

    private let segment: SegmentContract
    private let eventDecoder: EventDecoder

    /// Nil for a contract without Segment's schemas.
    public init?(contract: Contract = .embedded) {
        guard let segment = contract.segment else { return nil }
        self.segment = segment
        eventDecoder = EventDecoder(contract: contract)
    }

    /// Validates `body` as what `kind` takes; every violation otherwise, messages over 32 KiB included.
    public func parse(_ body: UnsafeBufferPointer<UInt8>, as kind: Body) -> Result<Request, ContractViolation> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            return .failure(.malformedJSON(error))
        }
        let validator = switch kind {
        case .message(let type): segment.messages[type]!
        case .batch: segment.batch
        }
        let limit = ContractViolation.maximumDetails
        let (errors, omittedByValidator) = validator.validate(value, keepingAtMost: limit)
        // A member both the common schema and the type's check (`type`, say) is reported once.
        var seen = Set<SchemaViolation>()
        var details = errors.map(Self.clarified).filter { seen.insert($0).inserted }
        var omitted = omittedByValidator
        var messages: [Request.Message] = []
        switch kind {
        case .message(let type):
            if let object = value.objectValue { messages.append(.init(type: type, object: object, pointer: .root)) }
        case .batch:
            for (index, item) in (value["batch"]?.arrayValue ?? []).enumerated() {
                let pointer = JSONPointer([.key("batch"), .index(index)])
                let size = JSONWriter.string(item).utf8.count
                if size > Self.maximumMessageBytes {
                    let detail = SchemaViolation(
                        instancePath: pointer, keyword: "maxBytes",
                        message: "a message is at most \(Self.maximumMessageBytes / 1024) KiB as compact JSON (this one is \(size) bytes)")
                    if details.count < limit { details.append(detail) } else { omitted += 1 }
                }
                if let object = item.objectValue, let type = object["type"]?.stringValue.flatMap(SegmentMessageType.init) {
                    messages.append(.init(type: type, object: object, pointer: pointer))
                }
            }
        }
        guard details.isEmpty else {
            let summary = kind == .batch ? "invalid Segment batch" : "invalid Segment message"
            return .failure(ContractViolation(summary: summary, details: details.sorted { $0.instancePath < $1.instancePath }, omitted: omitted))
        }
        let batchSentAt = kind == .batch ? value["sentAt"]?.stringValue.flatMap(Self.microseconds) : nil
        return .success(Request(messages: messages, writeKey: value["writeKey"]?.stringValue, batchSentAt: batchSentAt))
    }

    public func parse(_ body: [UInt8], as kind: Body) -> Result<Request, ContractViolation> {
        body.withUnsafeBufferPointer { parse($0, as: kind) }
    }

    /// The events `request`'s messages become for `site`, received at `receivedAt` (microseconds since
    /// the epoch): all of them, or every reason some message cannot be one.
    public func events(of request: Request, site: String, receivedAt: Int64, newID: () -> EventID) -> Result<Mapped, ContractViolation> {
        var mapped = Mapped()
        var details: [SchemaViolation] = []
        var omitted = 0
        for message in request.messages {
            mapped.counts[message.type, default: 0] += 1
            guard message.type.becomesEvent else { continue }
            switch event(of: message, site: site, receivedAt: receivedAt, batchSentAt: request.batchSentAt, newID: newID) {
            case .success(let event):
                mapped.events.append(event)
            case .failure(let violation):
                for detail in violation.details {
                    if details.count < ContractViolation.maximumDetails { details.append(detail) } else { omitted += 1 }
                }
                omitted += violation.omitted
            }
        }
        guard details.isEmpty else {
            let summary = request.messages.count == 1 && request.messages[0].pointer == .root
                ? "the message cannot become an event" : "some messages cannot become events; none was taken"
            return .failure(ContractViolation(summary: summary, details: details, omitted: omitted))
        }
        return .success(mapped)
    }

    /// One message's event, checked against the event contract; a violation names the member it came from.
    private func event(
        of message: Request.Message, site: String, receivedAt: Int64, batchSentAt: Int64?, newID: () -> EventID
    ) -> Result<Event, ContractViolation> {
        let object = message.object
        let at = message.pointer
        var sources: [String: (JSONPointer, String)] = ["site_id": (at, "the site the write key names")]

        let eventType = message.type.fixedEventType ?? object["event"]?.stringValue ?? ""
        sources["event_type"] = (at.appending("event"), "event")

        let properties = object["properties"]?.objectValue
        let page = object["context"]?.objectValue?["page"]?.objectValue
        let path: String
        if let given = properties?["path"]?.stringValue {
            path = given
            sources["path"] = (at.appending("properties").appending("path"), "properties.path")
        } else if let given = page?["path"]?.stringValue {
            path = given
            sources["path"] = (at.appending("context").appending("page").appending("path"), "context.page.path")
        } else if let url = properties?["url"]?.stringValue {
            path = URLPath.of(url)
            sources["path"] = (at.appending("properties").appending("url"), "the path of properties.url")
        } else if let url = page?["url"]?.stringValue {
            path = URLPath.of(url)
            sources["path"] = (at.appending("context").appending("page").appending("url"), "the path of context.page.url")
        } else {
            path = "/"
        }

        let userID: String
        if let user = object["userId"]?.stringValue, !user.isEmpty {
            userID = user
            sources["user_id"] = (at.appending("userId"), "userId")
        } else {
            userID = object["anonymousId"]?.stringValue ?? ""
            sources["user_id"] = (at.appending("anonymousId"), "anonymousId")
        }

        var timestamp = receivedAt
        for key in ["timestamp", "originalTimestamp"] {
            guard let given = object[key]?.stringValue.flatMap(Self.microseconds) else { continue }
            // The sender's clock is off by sentAt − receivedAt: Segment's correction.
            let sentAt = object["sentAt"]?.stringValue.flatMap(Self.microseconds) ?? batchSentAt
            timestamp = sentAt.map { given + (receivedAt - $0) } ?? given
            sources["timestamp"] = (at.appending(key), sentAt == nil ? key : "\(key) corrected by receivedAt − sentAt")
            break
        }

        let id: EventID
        if let messageID = object["messageId"]?.stringValue {
            id = EventID(messageID) ?? .version5(namespace: Self.messageIDNamespace, name: site + "\n" + messageID)
        } else {
            id = newID()
        }

        let candidate = JSONValue.object(JSONObject(uniqueMembers: [
            ("event_id", .string(id.description)),
            ("site_id", .string(site)),
            ("event_type", .string(eventType)),
            ("path", .string(path)),
            ("user_id", .string(userID)),
            ("timestamp", .string(RFC3339Formatter.utc(microseconds: timestamp))),
        ]))
        return eventDecoder.decodeEvent(Array(JSONWriter.string(candidate).utf8)) { id }.mapError { violation in
            ContractViolation(summary: violation.summary, details: violation.details.map { detail in
                guard case .key(let field)? = detail.instancePath.tokens.first, let source = sources[field] else { return detail }
                return SchemaViolation(
                    instancePath: source.0, keyword: detail.keyword, message: "as the event's \(field) (from \(source.1)): \(detail.message)")
            }, omitted: violation.omitted)
        }
    }

    static func microseconds(_ text: String) -> Int64? {
        guard case .success(let parsed) = RFC3339.parseDateTime(text) else { return nil }
        return parsed.microsecondsSinceEpoch
    }

    /// The schema's one `anyOf` is the rule that a message names its user: said so.
    private static func clarified(_ violation: SchemaViolation) -> SchemaViolation {
        guard violation.keyword == "anyOf" else { return violation }
        return SchemaViolation(
            instancePath: violation.instancePath, keyword: "anyOf",
            message: "needs userId or anonymousId: a non-empty string")
    }
}
