@testable import AnalyticsHTTP
import NIOCore
import Testing

/// Which address a request draws from: the peer, or what trusted proxies say in X-Forwarded-For.
struct ClientAddressTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.1.2.3", true), ("10.0.0.0/8", "11.0.0.1", false), ("192.168.1.7", "192.168.1.7", true),
        ("192.168.1.7", "192.168.1.8", false), ("2001:db8::/32", "2001:db8:1::5", true), ("2001:db8::/32", "2001:db9::5", false),
        ("0.0.0.0/0", "203.0.113.9", true), ("10.0.0.0/8", "::ffff:10.9.9.9", true), ("10.0.0.0/8", "2001:db8::1", false),
        ("172.16.0.0/12", "172.31.255.255", true), ("172.16.0.0/12", "172.32.0.0", false),
    ])
    func rangesContainTheirAddresses(range: String, address: String, contained: Bool) throws {
        let parsed = try #require(IPAddressRange(range))
        #expect(parsed.contains(try #require(IPAddress(address))) == contained)
    }

    @Test(arguments: ["10.0.0.0/33", "nonsense", "10.0.0.0/", "::/129", ""])
    func malformedRangesAreRefused(text: String) {
        #expect(IPAddressRange(text) == nil)
    }

    @Test func forwardedForIsReadOnlyFromTrustedProxiesAndFromTheRight() throws {
        let resolver = ClientAddressResolver(trustedProxies: [IPAddressRange("10.0.0.0/8")!, IPAddressRange("127.0.0.1")!])
        let peer = IPAddress("10.0.0.2")
        // A trusted proxy's header: the rightmost address that is not a proxy is the client; what the client
        // wrote at the left is not believed.
        #expect(resolver.client(peer: peer, forwardedFor: "1.2.3.4, 198.51.100.7, 10.0.0.9")?.description == "198.51.100.7")
        #expect(resolver.client(peer: peer, forwardedFor: "198.51.100.7")?.description == "198.51.100.7")
        // Every hop a proxy: the leftmost one.
        #expect(resolver.client(peer: peer, forwardedFor: "10.0.0.5, 10.0.0.9")?.description == "10.0.0.5")
        // Garbage stops the walk at the last address known.
        #expect(resolver.client(peer: peer, forwardedFor: "203.0.113.5, junk, 10.0.0.9")?.description == "10.0.0.9")
        #expect(resolver.client(peer: peer, forwardedFor: nil)?.description == "10.0.0.2")
        // An untrusted peer's header is ignored.
        #expect(resolver.client(peer: IPAddress("203.0.113.1"), forwardedFor: "1.2.3.4")?.description == "203.0.113.1")
        #expect(ClientAddressResolver().client(peer: peer, forwardedFor: "1.2.3.4")?.description == "10.0.0.2")
    }

    @Test func anIPv6ClientDrawsFromItsSlash64() throws {
        #expect(IPAddress("2001:db8:1:2:aaaa::1")?.limitKey == "2001:db8:1:2::/64")
        #expect(IPAddress("2001:db8:1:2:bbbb::9")?.limitKey == IPAddress("2001:db8:1:2:aaaa::1")?.limitKey)
        #expect(IPAddress("192.0.2.1")?.limitKey == "192.0.2.1")
        #expect(IPAddress("::ffff:192.0.2.1")?.limitKey == "192.0.2.1")
    }

    /// The bucket a request draws from, straight from the socket address or through trusted proxies.
    @Test func addressBucketsNameTheClient() throws {
        let direct = ClientAddressResolver()
        #expect(direct.addressBucket(peer: try SocketAddress(ipAddress: "192.0.2.7", port: 4000), forwardedFor: "1.2.3.4") == "address:192.0.2.7")
        #expect(direct.addressBucket(peer: try SocketAddress(ipAddress: "10.200.0.255", port: 1), forwardedFor: nil) == "address:10.200.0.255")
        #expect(direct.addressBucket(peer: try SocketAddress(ipAddress: "2001:db8:1:2::9", port: 1), forwardedFor: nil) == "address:2001:db8:1:2::/64")
        #expect(direct.addressBucket(peer: nil, forwardedFor: nil) == "address:unknown")
        let proxied = ClientAddressResolver(trustedProxies: [IPAddressRange("127.0.0.1")!])
        #expect(proxied.addressBucket(peer: try SocketAddress(ipAddress: "127.0.0.1", port: 1), forwardedFor: "198.51.100.4") == "address:198.51.100.4")
    }
}
