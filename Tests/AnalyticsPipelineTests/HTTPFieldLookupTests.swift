import HTTPTypes
import Testing

@testable import AnalyticsHTTP

@Suite struct HTTPFieldLookupTests {
    static let cases: [[HTTPField]] = [
        [],
        [HTTPField(name: .userAgent, value: "curl/8.5")],
        [HTTPField(name: .contentType, value: "application/json")],
        [HTTPField(name: .userAgent, value: "curl/8.5"), HTTPField(name: .contentType, value: "application/json; charset=utf-8")],
        [HTTPField(name: .contentType, value: "application/json"), HTTPField(name: .contentType, value: "text/plain")],
        [HTTPField(name: .contentType, value: ""), HTTPField(name: .userAgent, value: "a"), HTTPField(name: .contentType, value: "x")],
        [HTTPField(name: .cookie, value: "a=1"), HTTPField(name: .cookie, value: "b=2")],
    ]

    @Test(arguments: cases)
    func aFieldsValueIsWhatTheSubscriptGives(_ fields: [HTTPField]) {
        let headers = HTTPFields(fields)
        for name in [HTTPField.Name.contentType, .userAgent, .cookie, .contentLength] {
            #expect(headers.value(of: name) == headers[name], "\(name) in \(fields)")
        }
    }
}
