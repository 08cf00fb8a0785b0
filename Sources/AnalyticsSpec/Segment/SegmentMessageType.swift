/// The message types of Segment's HTTP Tracking API, and what each becomes here.
public enum SegmentMessageType: String, Sendable, CaseIterable, Hashable {
    case track, page, screen, identify, group, alias

    /// Whether a message of this type becomes an event. identify, group and alias describe users and
    /// groups, which this backend does not keep: they are validated, counted and otherwise dropped.
    public var becomesEvent: Bool { self == .track || self == .page || self == .screen }

    /// The event type of a page or screen message; a track message names its own in `event`.
    public var fixedEventType: String? {
        switch self {
        case .page: "pageview"
        case .screen: "screen"
        default: nil
        }
    }
}
