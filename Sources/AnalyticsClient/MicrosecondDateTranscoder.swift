import AnalyticsSpec
internal import Foundation
import JSONSchemaValidation
internal import OpenAPIRuntime

/// Timestamps on the wire as the contract writes them, RFC 3339 in UTC with microseconds: the generated
/// code's default transcoder drops fractions of a second, and an event's time is kept to the microsecond.
struct MicrosecondDateTranscoder: DateTranscoder {
    func encode(_ date: Date) throws -> String {
        RFC3339Formatter.utc(microseconds: Int64((date.timeIntervalSince1970 * 1_000_000).rounded()))
    }

    func decode(_ text: String) throws -> Date {
        guard case .success(let parsed) = RFC3339.parseDateTime(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "not an RFC 3339 date-time: \(text)"))
        }
        return Date(timeIntervalSince1970: Double(parsed.microsecondsSinceEpoch) / 1_000_000)
    }
}
