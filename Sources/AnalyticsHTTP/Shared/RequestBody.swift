import Hummingbird
import NIOCore

/// Reading a body up to a limit: refused by its declared length before any of it is read, else once
/// more than `limit` bytes arrived, with the caller's answer (413 here, 400 on Segment's API).
enum RequestBody {
    static func collect(_ request: Request, upTo limit: Int, tooLarge: @autoclosure () -> APIError) async throws -> ByteBuffer {
        if let declared = request.headers.value(of: .contentLength).flatMap(Int.init), declared > limit {
            throw tooLarge()
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge()
        }
    }
}

/// The answer to a CORS preflight of an ingestion endpoint: the origin as `IngestionAccess` names it,
/// the method and the headers a browser may send.
enum Preflight {
    static func response(_ request: Request, access: IngestionAccess?, fallback: HTTPFields, allowHeaders: String) -> Response {
        var headers = access?.corsHeaders(for: request, fallback: fallback, snapshot: access?.view.snapshot) ?? fallback
        headers[.accessControlAllowMethods] = "POST, OPTIONS"
        headers[.accessControlAllowHeaders] = allowHeaders
        headers[.accessControlMaxAge] = "86400"
        return Response(status: .noContent, headers: headers)
    }
}
