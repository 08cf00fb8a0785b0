import AnalyticsBlockingIO
import AnalyticsCore
import CLibpq

/// An error from PostgreSQL or from talking to it.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// The SQLSTATE code, when the server sent one.
    public let sqlState: String?
    public let message: String
    /// The connection is gone (or never came up); nothing on it can be trusted to have run.
    public let connectionLost: Bool

    public var description: String {
        "postgres: \(message.trimmingTrailingWhitespace())" + (sqlState.map { " (SQLSTATE \($0))" } ?? "")
    }

    /// True for failures that a later attempt may not meet: a lost connection, a server starting or
    /// shutting down, too many connections, a deadlock, a serialization failure, a cancelled statement,
    /// a missing table (migrations not yet applied). False for data the server refuses as such.
    public var isTransient: Bool {
        if connectionLost { return true }
        guard let sqlState else { return true }
        switch sqlState.prefix(2) {
        case "22", "23", "54": return false  // data exception, integrity violation, program limit exceeded
        default: return true
        }
    }
}

/// Rows of text values, as libpq returns them in text format; nil is SQL NULL.
public struct PostgresRows: Sendable {
    public let rows: [[String?]]
}

/// One libpq connection. Its calls block, so it is only used on a `BlockingConnectionPool` thread.
public final class PostgresConnection: BlockingConnection {
    private var connection: OpaquePointer?
    public private(set) var isBroken = false
    /// Statement names of the SQL texts prepared on this connection, so each is planned once per connection.
    private var prepared: [String: String] = [:]

    /// Connects to `url` (a postgres:// URI or a key=value string), with `settings` sent as run-time
    /// parameters (such as `search_path`). A failure's message is scrubbed of the URL's password: libpq
    /// quotes the part of a URL it cannot parse, which can be the password, and the message is printed
    /// and logged.
    public init(url: String, settings: [String: String] = [:]) throws {
        // The server gives up on a client as soon as the client gives up on it: an insert's transaction
        // spans round trips, and one whose client vanished (a dropped flow) must not hold its locks and
        // unfinished keys for the operating system's two hours of keepalive.
        let serverSide = [
            "client_min_messages": "warning", "tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2",
            "tcp_keepalives_count": "3", "tcp_user_timeout": "10000", "idle_in_transaction_session_timeout": "60000",
        ]
        let options = settings.merging(serverSide) { given, _ in given }
            .sorted { $0.key < $1.key }.map { "-c \($0.key)=\($0.value)" }.joined(separator: " ")
        // A dead server is noticed within seconds: the connect timeout, TCP keepalives and the TCP user
        // timeout bound every wait.
        let parameters: [(String, String)] = [
            ("dbname", url), ("connect_timeout", "5"), ("keepalives", "1"), ("keepalives_idle", "5"),
            ("keepalives_interval", "2"), ("keepalives_count", "3"), ("tcp_user_timeout", "10000"),
            ("application_name", "analytics"), ("options", options),
        ]
        connection = Self.withCStrings(parameters.map(\.0)) { keywords in
            Self.withCStrings(parameters.map(\.1)) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            close()
            throw PostgresError(sqlState: nil, message: URLRedaction.scrub(message, of: url), connectionLost: true)
        }
    }

    deinit { close() }

    public func close() {
        if let connection { PQfinish(connection) }
        connection = nil
        isBroken = true
    }

    /// Runs one statement with text parameters (`$1`, `$2`, …) and returns its rows. The statement is
    /// prepared on first use and reused after, so it is parsed and planned once per connection.
    @discardableResult
    public func query(_ sql: String, _ parameters: [String?] = []) throws -> PostgresRows {
        let (connection, name) = try preparedStatement(sql, parameters: parameters.count)
        let result = Self.withOptionalCStrings(parameters) { values in
            PQexecPrepared(connection, name, Int32(parameters.count), values, nil, nil, 0)
        }
        return try rows(of: result, connection: connection)
    }

    /// Runs one statement with parameters in PostgreSQL's binary format, each as the statement's casts
    /// type it (`$1::uuid[]` takes a binary `uuid[]`); the rows come back as text.
    @discardableResult
    public func query(_ sql: String, binary parameters: [[UInt8]]) throws -> PostgresRows {
        let (connection, name) = try preparedStatement(sql, parameters: parameters.count)
        let lengths = parameters.map { Int32($0.count) }
        let formats = [Int32](repeating: 1, count: parameters.count)
        var joined: [UInt8] = [0]
        var offsets: [Int] = []
        for parameter in parameters {
            offsets.append(joined.count)
            joined += parameter
        }
        let result = joined.withUnsafeBytes { buffer in
            let base = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
            let values: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            return PQexecPrepared(connection, name, Int32(parameters.count), values, lengths, formats, 0)
        }
        return try rows(of: result, connection: connection)
    }

    /// The open connection and the name `sql` is prepared under, preparing it on first use.
    private func preparedStatement(_ sql: String, parameters: Int) throws -> (OpaquePointer, String) {
        guard let connection, !isBroken else {
            throw PostgresError(sqlState: nil, message: "connection is closed", connectionLost: true)
        }
        if let known = prepared[sql] { return (connection, known) }
        let name = "analytics_\(prepared.count + 1)"
        _ = try rows(of: PQprepare(connection, name, sql, Int32(parameters), nil), connection: connection)
        prepared[sql] = name
        return (connection, name)
    }

    /// Runs SQL that may hold several statements and takes no parameters (migrations, and statements that
    /// cannot be prepared, such as `FETCH`); returns the last one's rows.
    @discardableResult
    public func execute(_ sql: String) throws -> PostgresRows {
        guard let connection, !isBroken else {
            throw PostgresError(sqlState: nil, message: "connection is closed", connectionLost: true)
        }
        return try rows(of: PQexec(connection, sql), connection: connection)
    }

    /// Runs `COPY … FROM STDIN` (`sql`) with `data` as everything it reads, and returns once the server
    /// has taken every row or refused the copy (the error it gives, such as a unique violation).
    public func copyIn(_ sql: String, data: [UInt8]) throws {
        guard let connection, !isBroken else {
            throw PostgresError(sqlState: nil, message: "connection is closed", connectionLost: true)
        }
        let started = PQexec(connection, sql)
        guard let started, PQresultStatus(started) == PGRES_COPY_IN else {
            // Not a copy after all (an error before it began): reported as the statement's failure.
            _ = try rows(of: started, connection: connection)
            throw PostgresError(sqlState: nil, message: "COPY did not start", connectionLost: false)
        }
        PQclear(started)
        // In pieces of at most a MiB: one CopyData message may not exceed 1 GB, nor its length an Int32.
        var sent: Int32 = 1
        data.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { base in
                var offset = 0
                while sent == 1, offset < buffer.count {
                    let length = min(1 << 20, buffer.count - offset)
                    sent = PQputCopyData(connection, base + offset, Int32(length))
                    offset += length
                }
            }
        }
        // A failed send still ends the copy; the result below says why. A copy that cannot even be
        // ended leaves the connection in the middle of the protocol: it is not used again.
        let ended = sent == 1 ? PQputCopyEnd(connection, nil) : PQputCopyEnd(connection, "the client could not send the rows")
        guard ended == 1 else {
            let message = String(cString: PQerrorMessage(connection))
            close()
            throw PostgresError(sqlState: nil, message: message, connectionLost: true)
        }
        var failure: PostgresError?
        while let result = PQgetResult(connection) {
            let status = PQresultStatus(result)
            if status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH {
                PQclear(result)
                close()
                throw PostgresError(sqlState: nil, message: "the connection is still copying", connectionLost: true)
            }
            do { _ = try rows(of: result, connection: connection) } catch let error as PostgresError { failure = failure ?? error }
            if isBroken { break }
        }
        if let failure {
            // A server that ends the session with its error (an administrator's shutdown) is a lost connection.
            throw isBroken ? PostgresError(sqlState: failure.sqlState, message: failure.message, connectionLost: true) : failure
        }
    }

    private func rows(of result: OpaquePointer?, connection: OpaquePointer) throws -> PostgresRows {
        defer { PQclear(result) }
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            let lost = PQstatus(connection) != CONNECTION_OK
            if lost { isBroken = true }
            let state = result.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) }
            let message = result.map { String(cString: PQresultErrorMessage($0)) }.flatMap { $0.isEmpty ? nil : $0 }
                ?? String(cString: PQerrorMessage(connection))
            throw PostgresError(sqlState: state, message: message, connectionLost: lost || state?.hasPrefix("08") == true)
        }
        guard status == PGRES_TUPLES_OK, let result else { return PostgresRows(rows: []) }
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var rows: [[String?]] = []
        rows.reserveCapacity(rowCount)
        for row in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
            rows.append(values)
        }
        return PostgresRows(rows: rows)
    }

    /// A NULL-terminated array of C strings, as libpq's keyword and value lists are.
    private static func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
        withOptionalCStrings(strings + [nil]) { body($0!) }
    }

    /// An array of C strings or NULLs; the pointer is nil when there are none.
    private static func withOptionalCStrings<T>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> T) -> T {
        let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
        defer { for copy in copies { free(copy) } }
        let pointers = copies.map { UnsafePointer($0) }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var text = self
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return text
    }
}

#if canImport(Glibc)
import Glibc
#endif
