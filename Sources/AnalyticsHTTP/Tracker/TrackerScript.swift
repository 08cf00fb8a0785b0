import CompressNIO
import Crypto
import Hummingbird
import NIOCore

/// `/script.js`: the tracker's source, embedded in the binary (a single file to deploy), served gzipped
/// to clients that take gzip, with an `ETag` of its content (a 304 for a client that has it) and an hour's
/// `Cache-Control`, so that an upgrade reaches browsers within the hour.
struct TrackerScript: Sendable {
    let plain: ByteBuffer
    /// Nil if compressing failed (it does not): then every client gets the plain bytes.
    let gzipped: ByteBuffer?
    /// One per representation, as the bytes differ: the gzipped one's ends in `-gz`.
    let etag: String
    let gzippedETag: String

    init(source: [UInt8] = PackageResources.script_js) {
        plain = ByteBuffer(bytes: source)
        var input = plain
        gzipped = try? input.compress(with: .gzip())
        let hash = SHA256.hash(data: source).prefix(12).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        etag = "\"" + hash + "\""
        gzippedETag = "\"" + hash + "-gz\""
    }

    func response(to request: Request) -> Response {
        let body = gzipped.flatMap { Self.acceptsGzip(request.headers[values: .acceptEncoding]) ? $0 : nil }
        let tag = body == nil ? etag : gzippedETag
        var headers: HTTPFields = [
            .contentType: "text/javascript; charset=utf-8", .cacheControl: "public, max-age=3600", .eTag: tag, .vary: "Accept-Encoding",
            .accessControlAllowOrigin: "*",
        ]
        if let tags = request.headers.value(of: .ifNoneMatch), tags.split(separator: ",").contains(where: { candidate in
            let trimmed = candidate.trimmingSpaces
            return trimmed == "*" || trimmed == tag || trimmed == "W/" + tag
        }) {
            return Response(status: .notModified, headers: headers)
        }
        if body != nil { headers[.contentEncoding] = "gzip" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body ?? plain))
    }

    /// Whether `Accept-Encoding` takes gzip: named (or, when not named, `*`) with a quality above zero.
    static func acceptsGzip(_ values: [String]) -> Bool {
        var gzip: Double?
        var any: Double?
        for value in values {
            for item in value.split(separator: ",") {
                let parts = item.split(separator: ";")
                guard let coding = parts.first?.trimmingSpaces.lowercased() else { continue }
                let quality = parts.dropFirst().lazy.map { $0.trimmingSpaces }.first { $0.lowercased().hasPrefix("q=") }
                    .flatMap { Double($0.dropFirst(2)) } ?? 1
                if coding == "gzip" || coding == "x-gzip" { gzip = quality } else if coding == "*" { any = quality }
            }
        }
        return (gzip ?? any ?? 0) > 0
    }
}
