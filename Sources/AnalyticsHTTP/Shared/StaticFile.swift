import CompressNIO
import Crypto
import Hummingbird
import NIOCore

/// A file the binary serves as it is (the tracker's script, the dashboard's page and assets): gzipped to
/// clients that take gzip, with an `ETag` per representation and a 304 for a client that has it.
struct StaticFile: Sendable {
    let plain: ByteBuffer
    /// Nil when not worth compressing, or if compressing failed (it does not): then every client gets the plain bytes.
    let gzipped: ByteBuffer?
    /// One per representation, as the bytes differ: the gzipped one's ends in `-gz`.
    let etag: String
    let gzippedETag: String
    /// Content-Type and Cache-Control, and whatever else every answer carries.
    let headers: HTTPFields

    init(bytes: [UInt8], contentType: String, cacheControl: String, headers extra: HTTPFields = [:], compress: Bool = true) {
        plain = ByteBuffer(bytes: bytes)
        var input = plain
        gzipped = compress ? try? input.compress(with: .gzip()) : nil
        let hash = Self.hexDigest(bytes, bytes: 12)
        etag = "\"" + hash + "\""
        gzippedETag = "\"" + hash + "-gz\""
        var headers: HTTPFields = [.contentType: contentType, .cacheControl: cacheControl, .xContentTypeOptions: "nosniff"]
        if compress { headers[.vary] = "Accept-Encoding" }
        headers.append(contentsOf: extra)
        self.headers = headers
    }

    /// The first `bytes` bytes of the content's SHA-256, in hex: what names a file by its content.
    static func hexDigest(_ content: some Sequence<UInt8>, bytes: Int) -> String {
        SHA256.hash(data: Array(content)).prefix(bytes).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The bytes a client that takes gzip receives (the plain ones otherwise).
    func body(acceptingGzip: Bool) -> ByteBuffer { acceptingGzip ? gzipped ?? plain : plain }

    func response(to request: Request) -> Response {
        let body = gzipped.flatMap { Self.acceptsGzip(request.headers[values: .acceptEncoding]) ? $0 : nil }
        let tag = body == nil ? etag : gzippedETag
        var headers = self.headers
        headers[.eTag] = tag
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
