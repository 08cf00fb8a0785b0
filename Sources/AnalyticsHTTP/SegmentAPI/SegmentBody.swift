import CompressNIO
import Hummingbird
import NIOCore

/// A Segment request's body, as its `Content-Type` and `Content-Encoding` say: JSON (or `text/plain`,
/// which browsers send without a CORS preflight), plain or gzip. Segment answers 400 to a body over its
/// size; so do we. A gzip body is inflated up to the same size and no further: one that would inflate
/// past it (a gzip bomb) is 413, and nothing of it is taken.
enum SegmentBody {
    static func read(_ request: Request, limit: Int, headers: HTTPFields) async throws -> ByteBuffer {
        let contentType = request.headers.value(of: .contentType)
        guard JSONBody.isJSON(contentType) || JSONBody.isPlainText(contentType) else {
            throw APIError(.unsupportedMediaType, "Content-Type must be application/json (or text/plain)", headers: headers)
        }
        let gzip: Bool
        switch request.headers.value(of: .contentEncoding).map({ Substring($0).trimmingSpaces.lowercased() }) {
        case nil, "", "identity": gzip = false
        case "gzip", "x-gzip": gzip = true
        default: throw APIError(.unsupportedMediaType, "Content-Encoding must be gzip or identity", headers: headers)
        }
        var body = try await RequestBody.collect(request, upTo: limit, tooLarge: tooLarge(limit, headers))
        guard gzip else { return body }
        guard body.readableBytes > 0 else { throw APIError(.badRequest, "the gzip body is empty", headers: headers) }
        let trailer = body.getInteger(at: body.writerIndex - 4, endianness: .little, as: UInt32.self)
        let inflated: ByteBuffer
        do {
            inflated = try body.decompress(with: .gzip(), maxSize: limit)
        } catch let error as CompressNIOError where error == .bufferOverflow {
            throw bomb(limit, headers)
        } catch {
            throw APIError(.badRequest, "the body is not valid gzip", headers: headers)
        }
        // compress-nio's `maxSize` bounds the buffers it asks for, which NIO rounds up: the limit is held here.
        guard inflated.readableBytes <= limit else { throw bomb(limit, headers) }
        // One whole gzip member and nothing after it: its trailer's length (ISIZE) is what was inflated.
        // zlib does not report a cut-off trailer or bytes after the stream's end through compress-nio.
        guard body.readableBytes == 0, let trailer, trailer == UInt32(truncatingIfNeeded: inflated.readableBytes) else {
            throw APIError(.badRequest, "the body is not one whole gzip stream", headers: headers)
        }
        return inflated
    }

    private static func bomb(_ limit: Int, _ headers: HTTPFields) -> APIError {
        APIError(.contentTooLarge, "the gzip body inflates to more than \(limit / 1024) KiB; nothing was taken", headers: headers)
    }

    private static func tooLarge(_ limit: Int, _ headers: HTTPFields) -> APIError {
        APIError(.badRequest, "body is larger than \(limit / 1024) KiB, the most Segment's API takes", headers: headers)
    }
}
