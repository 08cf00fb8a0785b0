import CompressNIO
import Crypto
import Hummingbird
import NIOCore

/// `/script.js`: the tracker's source, embedded in the binary (a single file to deploy), served gzipped
/// to clients that take gzip, with an `ETag` of its content (a 304 for a client that has it) and an hour's
/// `Cache-Control`, so that an upgrade reaches browsers within the hour.
struct TrackerScript: Sendable {
    let plain: ByteBuffer
    let gzipped: ByteBuffer
    let etag: String

    init(source: [UInt8] = PackageResources.script_js) {
        plain = ByteBuffer(bytes: source)
        var input = plain
        gzipped = (try? input.compress(with: .gzip())) ?? plain
        etag = "\"" + SHA256.hash(data: source).prefix(12).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined() + "\""
    }

    func response(to request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/javascript; charset=utf-8", .cacheControl: "public, max-age=3600", .eTag: etag, .vary: "Accept-Encoding",
            .accessControlAllowOrigin: "*",
        ]
        if let tags = request.headers.value(of: .ifNoneMatch), tags.split(separator: ",").contains(where: { tag in
            let trimmed = tag.trimmingSpaces
            return trimmed == "*" || trimmed == etag || trimmed == "W/" + etag
        }) {
            return Response(status: .notModified, headers: headers)
        }
        let gzip = request.headers[values: .acceptEncoding].contains { value in
            value.split(separator: ",").contains { $0.trimmingSpaces.prefix { $0 != ";" }.lowercased() == "gzip" }
        }
        if gzip { headers[.contentEncoding] = "gzip" }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: gzip ? gzipped : plain))
    }
}
