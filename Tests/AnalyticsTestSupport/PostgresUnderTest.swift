import AnalyticsBlockingIO
import AnalyticsPostgres

/// The PostgreSQL server of the integration tests.
public enum PostgresUnderTest {
    /// `DATABASE_URL`, or a local default.
    public static var url: String { Integration.databaseURL ?? "postgres://analytics@127.0.0.1:5432/analytics" }

    /// Runs `sql` on a connection of its own, on a pool thread: libpq blocks, so never on the caller's.
    public static func execute(_ sql: String, on url: String = url) async throws {
        let database = BlockingConnectionPool(size: 1) { try PostgresConnection(url: url) }
        do {
            try await database.withConnection { try $0.execute(sql) }
        } catch {
            await database.shutdown()
            throw error
        }
        await database.shutdown()
    }

    /// The rows `sql` answers, as text, on a connection of its own.
    public static func rows(_ sql: String, on url: String = url) async throws -> [[String?]] {
        let database = BlockingConnectionPool(size: 1) { try PostgresConnection(url: url) }
        do {
            let rows = try await database.withConnection { try $0.query(sql).rows }
            await database.shutdown()
            return rows
        } catch {
            await database.shutdown()
            throw error
        }
    }

    /// A second store on the tables of `store`, as another worker or reporting process would be.
    public static func store(sharingTablesWith store: PostgresEventStore) -> PostgresEventStore {
        var configuration = PostgresStoreConfiguration()
        configuration.schema = store.schema
        configuration.smallestCopy = 1
        return PostgresEventStore(url: url, configuration: configuration)
    }
}
