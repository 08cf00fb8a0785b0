import AnalyticsSpec
import Hummingbird
import JSONSchemaValidation

/// An error answer in the contract's shape (spec/error.schema.json): `{"error": "...", "details": [...]}`.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let summary: String
    public let details: [SchemaViolation]
    /// Violations found beyond those in `details`.
    public let omitted: Int
    public let headers: HTTPFields

    public init(
        _ status: HTTPResponse.Status, _ summary: String, details: [SchemaViolation] = [], omitted: Int = 0,
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.summary = summary
        self.details = details
        self.omitted = omitted
        self.headers = headers
    }

    public init(_ status: HTTPResponse.Status, _ violation: ContractViolation) {
        self.init(status, violation.summary, details: violation.details, omitted: violation.omitted)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        let body = JSONWriter.string(ContractViolation(summary: summary, details: details, omitted: omitted).errorBody)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func methodNotAllowed(allow: [HTTPRequest.Method]) -> APIError {
        let allowed = allow.map(\.rawValue).joined(separator: ", ")
        return APIError(.methodNotAllowed, "method not allowed; use \(allowed)", headers: [.allow: allowed])
    }

    static func unavailable(_ what: String, retryAfter seconds: Int, headers: HTTPFields = [:]) -> APIError {
        var headers = headers
        headers[.retryAfter] = String(seconds)
        return APIError(.serviceUnavailable, "\(what); retry after \(seconds) s", headers: headers)
    }
}

/// Renders every error in the contract's shape, including the router's own 404s, and turns
/// anything unexpected into a logged 500 rather than a dropped connection.
struct ErrorBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            let summary = error.status == .notFound ? "no such endpoint: \(request.method) \(request.uri.path)"
                : (error.body ?? error.status.reasonPhrase)
            throw APIError(error.status, summary, headers: error.headers)
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw APIError(.internalServerError, "internal error")
        }
    }
}

extension RouterMethods {
    /// Answers 405 with `Allow` for the usual methods `path` does not take.
    @discardableResult
    func rejectOtherMethods(_ path: RouterPath, allowing allowed: [HTTPRequest.Method]) -> Self {
        var allow = allowed
        if allowed.contains(.get), !allowed.contains(.head) { allow.append(.head) }
        let error = APIError.methodNotAllowed(allow: allow)
        for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete, .options] where !allow.contains(method) {
            on(path, method: method) { _, _ -> Response in throw error }
        }
        return self
    }
}
