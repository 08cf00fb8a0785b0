import AnalyticsRedis
import Testing

/// A script's digest is the SHA-1 of its text: FIPS 180's examples, and the padding's edge cases.
struct RedisScriptDigestTests {
    @Test(arguments: [
        ("", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("The quick brown fox jumps over the lazy dog", "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
        (String(repeating: "a", count: 1_000_000), "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
    ])
    func digestIsTheSHA1OfTheText(text: String, digest: String) {
        #expect(RedisScript(text).digest == digest)
    }

    /// 55, 56 and 64 bytes: the length still fits the last block, just does not, and fills a block.
    @Test(arguments: [
        (55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"),
        (56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"),
        (64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"),
    ])
    func digestAcrossTheBlockBoundary(length: Int, digest: String) {
        #expect(RedisScript(String(repeating: "a", count: length)).digest == digest)
    }
}
