import Hummingbird
import JSONSchemaValidation

enum JSONBody {
    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        response(ByteBuffer(string: JSONWriter.string(value)), status: status, headers: headers)
    }

    static func response(_ body: ByteBuffer, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// `application/json`, or any `application/*+json`, with or without parameters such as a charset.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        if contentType == "application/json" { return true }
        let mediaType = String(contentType.prefix { $0 != ";" }.filter { $0 != " " && $0 != "\t" }).lowercased()
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }

    /// `text/plain`, with or without parameters: what a browser sends without a CORS preflight.
    static func isPlainText(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        return contentType.prefix { $0 != ";" }.filter { $0 != " " && $0 != "\t" }.lowercased() == "text/plain"
    }
}
