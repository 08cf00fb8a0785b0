import AnalyticsCore
import AnalyticsPostgres
import AnalyticsRedis
import Testing

/// Connection URLs in messages: the password never shows, the rest does, malformed URLs included.
struct URLRedactionTests {
    @Test(arguments: [
        ("redis://user:s3cret@host:6379/0", "redis://user:***@host:6379/0"),
        ("redis://:s3cret@10.0.0.5:6380/2", "redis://:***@10.0.0.5:6380/2"),
        ("redis://s3cret@10.0.0.5", "redis://***@10.0.0.5"),
        ("redis://reader:@h", "redis://reader:@h"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://u:p@s3cret@h:port", "redis://u:***@h:port"),
        ("u:s3cret@h:6379", "u:***@h:6379"),
    ])
    func redisPasswordsAreReplaced(url: String, expected: String) {
        // Redis reads user information without a colon as the password.
        #expect(URLRedaction.redact(url, userAloneIsPassword: true) == expected)
    }

    @Test(arguments: [
        ("postgres://analytics@db:5432/analytics", "postgres://analytics@db:5432/analytics"),
        ("postgres://analytics:s3cret@db/analytics?sslmode=require", "postgres://analytics:***@db/analytics?sslmode=require"),
        ("postgres://db/analytics?password=s3cret&sslmode=require", "postgres://db/analytics?password=***&sslmode=require"),
        ("host=db user=analytics password=s3cret dbname=analytics", "host=db user=analytics password=*** dbname=analytics"),
        ("host=db password = 's3 cr\\'et' dbname=analytics", "host=db password = *** dbname=analytics"),
    ])
    func postgresPasswordsAreReplaced(url: String, expected: String) {
        #expect(URLRedaction.redact(url) == expected)
    }

    @Test func aMessageQuotingTheURLOrItsPasswordIsScrubbed() {
        let url = "postgresql://analytics:s3%25cret@db/analytics"
        let message = #"cannot parse "postgresql://analytics:s3%25cret@db/analytics": bad token "s3%25cret", that is "s3%cret""#
        let scrubbed = URLRedaction.scrub(message, of: url)
        #expect(scrubbed == #"cannot parse "postgresql://analytics:***@db/analytics": bad token "***", that is "***""#)
    }

    @Test(arguments: [
        "http://u:s3cret@127.0.0.1:6379", "redis://u:s3cret@h:port/0", "redis://:s3cret@h:6379/zero",
        "redis://s3cret@h:port", "redis://u:p@s3cret@h:6379/x",
    ])
    func aMalformedRedisURLIsRefusedWithoutItsPassword(url: String) {
        do {
            _ = try RedisConfiguration(url: url)
            Issue.record("\(url) was accepted")
        } catch {
            #expect(!"\(error)".contains("s3cret"), "\(error)")
            #expect("\(error)".contains("***"), "\(error)")
        }
    }

    @Test func aRedisConfigurationPrintsWithoutItsPassword() throws {
        let printed = try ["redis://ingest:s3cret@h:1/3", "redis://s3cret@h", "redis://h"].map {
            String(describing: try RedisConfiguration(url: $0))
        }
        #expect(printed == ["redis://ingest:***@h:1/3", "redis://:***@h:6379/0", "redis://h:6379/0"])
    }

    /// libpq quotes the token of a URL it cannot decode, here the password; it fails before connecting.
    @Test func libpqsErrorAboutAMalformedURLDoesNotQuoteThePassword() {
        do {
            _ = try PostgresConnection(url: "postgresql://analytics:s3%Zcret@127.0.0.1:1/analytics")
            Issue.record("the URL was accepted")
        } catch {
            #expect(!"\(error)".contains("s3%Zcret"), "\(error)")
        }
    }
}
