import Hummingbird
import NIOCore
import NIOHTTP1

/// Answers a request whose body could not be read, because the client went away mid-body or sent one
/// that breaks HTTP, with a 400, and logs it at debug: it is the client's doing, not the server's, and
/// left to `ErrorBodyMiddleware` it would be logged as an unexpected error, which would make every
/// dropped mobile connection look like a fault. It sits inside `ErrorBodyMiddleware`, which renders the
/// 400 (seldom read: the connection is closed after it).
///
/// The errors are those of the request's stream: NIOHTTP1's parser error when the stream ends before
/// the declared `Content-Length` or the chunked encoding is broken, and NIO's I/O and channel errors
/// when the connection is reset. Nothing else a route does throws them; the queue and store clients
/// have their own.
struct AbortedRequestMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error where error is HTTPParserError || error is IOError || error is ChannelError {
            context.logger.debug("request aborted", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            if let parserError = error as? HTTPParserError, parserError != .invalidEOFState {
                throw APIError(.badRequest, "malformed HTTP request")
            }
            throw APIError(.badRequest, "the request ended before its body did")
        }
    }
}
