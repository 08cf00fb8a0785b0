import AnalyticsSpec
import Hummingbird
import NIOCore
import NIOHTTP1
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
    /// The paths served and their methods: a method the router has no route for (an extension method such
    /// as QUERY) on a path it serves is answered 405, not 404.
    let methods: PathMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError where error.status == .notFound {
            if let allowed = methods.allowed(on: request.uri.path) { throw APIError.methodNotAllowed(allow: allowed) }
            throw APIError(error.status, "no such endpoint: \(request.method) \(request.uri.path)", headers: error.headers)
        } catch let error as HTTPError {
            throw APIError(error.status, error.body ?? error.status.reasonPhrase, headers: error.headers)
        } catch let error where error is HTTPParserError || error is IOError || error is ChannelError {
            // The request's own stream failed: the client went away mid-body (NIOHTTP1's parser error at an
            // early end of the declared Content-Length or of a chunked body, NIO's I/O and channel errors at
            // a reset) or sent a body that breaks HTTP. The client's doing, not the server's: logged at debug,
            // answered 400 (seldom read: the connection is closed after it). Nothing else a route does throws
            // these; the queue and store clients have their own errors. Handled here rather than in a
            // middleware of its own, which would add a frame to every request.
            context.logger.debug("request aborted", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            if let parserError = error as? HTTPParserError, parserError != .invalidEOFState {
                throw APIError(.badRequest, "malformed HTTP request")
            }
            throw APIError(.badRequest, "the request ended before its body did")
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw APIError(.internalServerError, "internal error")
        }
    }
}
