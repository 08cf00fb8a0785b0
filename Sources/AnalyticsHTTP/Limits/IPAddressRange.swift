import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address as bytes (4 or 16), parsed with `inet_pton`.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// An address from its 4 or 16 bytes.
    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public init?(_ text: some StringProtocol) {
        let text = String(text)
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let raw = withUnsafeBytes(of: &v6) { Array($0) }
        // An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as a dual-stack socket reports IPv4 peers) is the IPv4 address.
        bytes = raw[0..<10].allSatisfy { $0 == 0 } && raw[10] == 0xFF && raw[11] == 0xFF ? Array(raw[12...]) : raw
    }

    public var description: String {
        if bytes.count == 4 { return Self.dotted(bytes) }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }

    /// The bucket a client's address draws from: the address for IPv4, its /64 for IPv6 (one host or
    /// network commonly holds a whole /64).
    public var limitKey: String {
        bytes.count == 4 ? Self.dotted(bytes) : stride(from: 0, to: 8, by: 2).map {
            String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
        }.joined(separator: ":") + "::/64"
    }
}

extension IPAddress {
    /// `a.b.c.d` after `prefix`, written into one string without the intermediate strings of `map` and
    /// `joined`: every rate-limited request from an IPv4 client builds one.
    static func dotted(_ bytes: some Collection<UInt8>, after prefix: StaticString = "") -> String {
        String(unsafeUninitializedCapacity: prefix.utf8CodeUnitCount + 15) { buffer in
            var at = 0
            for unit in UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount) {
                buffer[at] = unit
                at += 1
            }
            for (index, byte) in bytes.enumerated() {
                if index > 0 { buffer[at] = UInt8(ascii: "."); at += 1 }
                if byte >= 100 { buffer[at] = 48 + byte / 100; at += 1 }
                if byte >= 10 { buffer[at] = 48 + byte / 10 % 10; at += 1 }
                buffer[at] = 48 + byte % 10
                at += 1
            }
            return at
        }
    }
}

/// An address or a network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, `127.0.0.1`): what
/// `TRUSTED_PROXIES` lists.
public struct IPAddressRange: Sendable, Hashable {
    public let network: IPAddress
    public let prefix: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(parts[0]) else { return nil }
        let bits = address.bytes.count * 8
        let prefix = parts.count == 2 ? Int(parts[1]) : bits
        guard let prefix, (0...bits).contains(prefix) else { return nil }
        network = address
        self.prefix = prefix
    }

    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == network.bytes.count else { return false }
        var remaining = prefix
        for (a, b) in zip(address.bytes, network.bytes) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }
}

/// The client a request comes from: the socket's peer, unless the peer is a trusted proxy, in which case
/// `X-Forwarded-For` is read from the right, past every trusted proxy, to the first address that is not
/// one (a client can put anything at the left of the header; only what trusted proxies appended counts).
public struct ClientAddressResolver: Sendable {
    public let trustedProxies: [IPAddressRange]

    public init(trustedProxies: [IPAddressRange] = []) {
        self.trustedProxies = trustedProxies
    }

    public func client(peer: IPAddress?, forwardedFor: String?) -> IPAddress? {
        guard var client = peer else { return nil }
        guard isTrusted(client), let forwardedFor else { return client }
        for entry in forwardedFor.split(separator: ",").reversed() {
            guard let hop = IPAddress(entry.trimmingSpaces) else { return client }
            client = hop
            if !isTrusted(hop) { return hop }
        }
        return client
    }

    private func isTrusted(_ address: IPAddress) -> Bool { trustedProxies.contains { $0.contains(address) } }

    /// `address:` and the client's `limitKey`, the name of its bucket. Without trusted proxies an IPv4
    /// peer's is written straight from the socket address, without the text and parse in between: every
    /// rate-limited request needs it.
    func addressBucket(peer: SocketAddress?, forwardedFor: @autoclosure () -> String?) -> String {
        if trustedProxies.isEmpty, case .v4(let v4)? = peer {
            return withUnsafeBytes(of: v4.address.sin_addr.s_addr) { IPAddress.dotted($0, after: "address:") }
        }
        let client = client(peer: peer?.ipAddress.flatMap(IPAddress.init), forwardedFor: forwardedFor())
        return "address:" + (client?.limitKey ?? "unknown")
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }
}
