/// One versioned change to the database schema.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String
}

/// Every migration, in order. Never edit one that has shipped; add another.
public enum Migrations {
    public static let all: [Migration] = [
        Migration(version: 1, name: "events", sql: """
            CREATE TABLE events (
                id BIGSERIAL PRIMARY KEY,
                event_id UUID NOT NULL UNIQUE,
                site_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                path TEXT NOT NULL,
                user_id TEXT,
                timestamp TIMESTAMPTZ NOT NULL,
                created_at TIMESTAMPTZ DEFAULT now()
            );
            -- The seed's index ON events (site_id, (DATE(timestamp))) is refused: DATE() of a timestamptz
            -- depends on the session's time zone, so it is not IMMUTABLE. A UTC day is a timestamp range,
            -- which this index serves.
            CREATE INDEX events_site_timestamp ON events (site_id, timestamp);
            """),
        Migration(version: 2, name: "rollups", sql: """
            -- Maintained in the transaction that inserts the events, from the rows it inserted.
            CREATE TABLE daily_counts (
                site_id TEXT NOT NULL, day DATE NOT NULL, event_type TEXT NOT NULL, views BIGINT NOT NULL,
                PRIMARY KEY (site_id, day, event_type)
            );
            CREATE TABLE daily_paths (
                site_id TEXT NOT NULL, day DATE NOT NULL, event_type TEXT NOT NULL, path TEXT NOT NULL, views BIGINT NOT NULL,
                PRIMARY KEY (site_id, day, event_type, path)
            );
            CREATE TABLE daily_users (
                site_id TEXT NOT NULL, day DATE NOT NULL, event_type TEXT NOT NULL, user_id TEXT NOT NULL,
                PRIMARY KEY (site_id, day, event_type, user_id)
            );
            -- All-time rollups, so that a query over all time does not add up every day.
            CREATE TABLE site_paths (
                site_id TEXT NOT NULL, event_type TEXT NOT NULL, path TEXT NOT NULL, views BIGINT NOT NULL,
                PRIMARY KEY (site_id, event_type, path)
            );
            CREATE TABLE site_users (
                site_id TEXT NOT NULL, event_type TEXT NOT NULL, user_id TEXT NOT NULL,
                PRIMARY KEY (site_id, event_type, user_id)
            );
            """),
        Migration(version: 3, name: "distinct user counts", sql: """
            -- Distinct users over all time, counted as they first appear, so that /stats over all time
            -- reads one row instead of counting distinct users at query time.
            CREATE TABLE site_user_counts (
                site_id TEXT NOT NULL, event_type TEXT NOT NULL, users BIGINT NOT NULL,
                PRIMARY KEY (site_id, event_type)
            );
            CREATE TABLE site_visitors (
                site_id TEXT NOT NULL, user_id TEXT NOT NULL,
                PRIMARY KEY (site_id, user_id)
            );
            CREATE TABLE site_visitor_counts (
                site_id TEXT NOT NULL PRIMARY KEY, users BIGINT NOT NULL
            );
            INSERT INTO site_user_counts SELECT site_id, event_type, count(*) FROM site_users GROUP BY 1, 2;
            INSERT INTO site_visitors SELECT DISTINCT site_id, user_id FROM site_users;
            INSERT INTO site_visitor_counts SELECT site_id, count(*) FROM site_visitors GROUP BY 1;
            """),
        Migration(version: 4, name: "ranges from a covering index", sql: """
            -- Ranges of days are answered by index-only scans of this index. The per-day rollups it replaces
            -- cost about one row per event when events spread over many days (a day, type and path, or a day,
            -- type and user, rarely repeats within a batch), and a range read as many rows from them as from
            -- the index.
            DROP INDEX events_site_timestamp;
            DROP TABLE daily_counts, daily_paths, daily_users;
            -- Text keys compare as bytes: the order of UTF-8 bytes is C.UTF-8's code point order, without a
            -- strcoll call for every comparison in every index.
            ALTER TABLE events ALTER COLUMN site_id TYPE text COLLATE "C", ALTER COLUMN event_type TYPE text COLLATE "C",
                ALTER COLUMN path TYPE text COLLATE "C", ALTER COLUMN user_id TYPE text COLLATE "C";
            ALTER TABLE site_paths ALTER COLUMN site_id TYPE text COLLATE "C",
                ALTER COLUMN event_type TYPE text COLLATE "C", ALTER COLUMN path TYPE text COLLATE "C";
            ALTER TABLE site_users ALTER COLUMN site_id TYPE text COLLATE "C",
                ALTER COLUMN event_type TYPE text COLLATE "C", ALTER COLUMN user_id TYPE text COLLATE "C";
            ALTER TABLE site_user_counts ALTER COLUMN site_id TYPE text COLLATE "C", ALTER COLUMN event_type TYPE text COLLATE "C";
            ALTER TABLE site_visitors ALTER COLUMN site_id TYPE text COLLATE "C", ALTER COLUMN user_id TYPE text COLLATE "C";
            ALTER TABLE site_visitor_counts ALTER COLUMN site_id TYPE text COLLATE "C";
            CREATE INDEX events_site_timestamp_covering ON events (site_id, timestamp) INCLUDE (event_type, path, user_id);
            """),
        Migration(version: 5, name: "events vacuumed as they grow", sql: """
            -- An index-only scan reads the table for every row on a page that vacuum has not yet marked
            -- all-visible, and recent days are the ones asked for most. Vacuum after 1% growth, not 20%.
            ALTER TABLE events SET (autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);
            """),
        Migration(version: 6, name: "path totals per site", sql: """
            -- Views per site and path over every event type, so that /stats over all time reads one row a path
            -- instead of adding up one a path and event type.
            CREATE TABLE site_path_totals (
                site_id TEXT COLLATE "C" NOT NULL, path TEXT COLLATE "C" NOT NULL, views BIGINT NOT NULL,
                PRIMARY KEY (site_id, path)
            );
            INSERT INTO site_path_totals SELECT site_id, path, sum(views) FROM site_paths GROUP BY 1, 2;
            """),
        Migration(version: 7, name: "writers check the schema version", sql: """
            -- Every insert calls this first: a writer built for another schema version than the database's
            -- fails (SQLSTATE AN001, which the store reports as unavailable, so nothing is dead-lettered)
            -- instead of writing rows that a newer schema's rollups would not count. VOLATILE, so its query
            -- takes a snapshot of its own: a writer that waited for a migration's table locks sees its commit.
            CREATE FUNCTION schema_guard(expected integer) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
            DECLARE
                found integer;
            BEGIN
                SELECT max(version) INTO found FROM schema_migrations;
                IF found IS DISTINCT FROM expected THEN
                    RAISE EXCEPTION 'the database schema is at version %, and this process is built for version %', found, expected
                        USING ERRCODE = 'AN001', HINT = 'run the analytics version that matches the schema, or migrate it';
                END IF;
                RETURN true;
            END
            $$;
            """),
        Migration(version: 8, name: "site versions and their change log", sql: """
            -- Reporting processes keep each site's events indexed in memory (AnalyticsReadModel). Every insert
            -- bumps its sites' versions as its last step and logs what it stored under the new version; a
            -- site's row stays locked until the insert commits, so versions follow commit order, and a
            -- reporting process that has a site at version v catches up by reading the changes after v.
            CREATE TABLE site_versions (
                site_id TEXT COLLATE "C" PRIMARY KEY,
                version BIGINT NOT NULL
            );
            -- Kept for a while only: a reporting process further behind loads the site from events again.
            CREATE TABLE site_changes (
                site_id TEXT COLLATE "C" NOT NULL,
                version BIGINT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                timestamps BIGINT[] NOT NULL,
                event_types TEXT[] NOT NULL,
                paths TEXT[] NOT NULL,
                user_ids TEXT[] NOT NULL,
                PRIMARY KEY (site_id, version)
            );
            CREATE INDEX site_changes_created_at ON site_changes (created_at);
            -- Kept minutes, read once or twice: stored out of line without compression, which would cost
            -- the inserts' CPU while their sites' version rows are locked.
            ALTER TABLE site_changes ALTER COLUMN timestamps SET STORAGE EXTERNAL, ALTER COLUMN event_types SET STORAGE EXTERNAL,
                ALTER COLUMN paths SET STORAGE EXTERNAL, ALTER COLUMN user_ids SET STORAGE EXTERNAL;
            -- Every site with an event starts at version 1; a reporting process loads it from events. Read from
            -- events themselves (an index scan, while inserts wait for this migration's locks): a site whose
            -- events never went through the rollups would otherwise be answered as empty.
            INSERT INTO site_versions SELECT DISTINCT site_id, 1 FROM events;
            """),
        Migration(version: 9, name: "reporting from site indexes, not rollups", sql: """
            -- Every reporting query is answered from the site indexes of the reporting processes (migration 8),
            -- so the rollups the inserts kept are read by nothing: dropped, and inserts no longer pay for them.
            DROP TABLE site_paths, site_path_totals, site_users, site_user_counts, site_visitors, site_visitor_counts;
            """),
        Migration(version: 10, name: "change log of event ids", sql: """
            -- An insert logs the ids of the events it stored (8 bytes each) instead of copying their columns,
            -- which cost the drain about a fifth of what it writes; a catch-up reads the events by id. The log
            -- only serves catch-ups of minutes: emptied here, a reporting process behind it loads the site.
            DELETE FROM site_changes;
            ALTER TABLE site_changes DROP COLUMN timestamps, DROP COLUMN event_types, DROP COLUMN paths, DROP COLUMN user_ids,
                ADD COLUMN ids BIGINT[] NOT NULL;
            ALTER TABLE site_changes ALTER COLUMN ids SET STORAGE EXTERNAL;
            """),
        Migration(version: 11, name: "site registry", sql: """
            -- The sites events are taken for, and who may read and write them (PostgresSiteRegistry). Secrets
            -- are kept as SHA-256 digests only. Every change bumps registry_version in its transaction: the
            -- one row each process polls, so that a revoked token stops working everywhere within seconds.
            CREATE TABLE sites (
                site_id TEXT COLLATE "C" PRIMARY KEY,
                write_key_digest BYTEA CHECK (octet_length(write_key_digest) = 32),
                created_at TIMESTAMPTZ NOT NULL DEFAULT now()
            );
            CREATE TABLE site_origins (
                site_id TEXT COLLATE "C" NOT NULL REFERENCES sites ON DELETE CASCADE,
                origin TEXT COLLATE "C" NOT NULL,
                PRIMARY KEY (site_id, origin)
            );
            CREATE TABLE read_tokens (
                token_id TEXT COLLATE "C" PRIMARY KEY,
                name TEXT,
                digest BYTEA NOT NULL CHECK (octet_length(digest) = 32),
                created_at TIMESTAMPTZ NOT NULL,
                revoked_at TIMESTAMPTZ
            );
            CREATE TABLE read_token_sites (
                token_id TEXT COLLATE "C" NOT NULL REFERENCES read_tokens ON DELETE CASCADE,
                site_id TEXT COLLATE "C" NOT NULL REFERENCES sites ON DELETE CASCADE,
                PRIMARY KEY (token_id, site_id)
            );
            CREATE TABLE registry_version (
                singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
                version BIGINT NOT NULL
            );
            INSERT INTO registry_version VALUES (true, 1);
            """),
        Migration(version: 12, name: "per-site rate limits", sql: """
            -- A site's own ingestion limit (events a second, and the burst); NULL for the process's default.
            ALTER TABLE sites ADD COLUMN rate_per_second DOUBLE PRECISION, ADD COLUMN rate_burst INTEGER,
                ADD CHECK ((rate_per_second IS NULL) = (rate_burst IS NULL)),
                ADD CHECK (rate_per_second > 0 AND rate_per_second < 'Infinity' AND rate_burst >= 1);
            """),
        Migration(version: 13, name: "events partitioned by month, event ids of their own", sql: """
            -- events becomes partitioned by month of its timestamp (UTC), so that retention drops whole months.
            -- A partitioned table's unique keys must hold the partition key, and an event's idempotency must not
            -- depend on its timestamp (a resent Segment message may be corrected to another one): event ids
            -- get a table of their own, unique per site, with the month of their event, deleted with it.
            -- Every unique key holds site_id, so that every table can be distributed by site_id on Citus.
            ALTER TABLE events RENAME TO events_before_13;
            ALTER TABLE events_before_13 RENAME CONSTRAINT events_pkey TO events_before_13_pkey;
            ALTER TABLE events_before_13 RENAME CONSTRAINT events_event_id_key TO events_before_13_event_id_key;
            ALTER INDEX events_site_timestamp_covering RENAME TO events_before_13_covering;
            ALTER SEQUENCE events_id_seq OWNED BY NONE;
            CREATE TABLE events (
                id BIGINT NOT NULL DEFAULT nextval('events_id_seq'),
                event_id UUID NOT NULL,
                site_id TEXT COLLATE "C" NOT NULL,
                event_type TEXT COLLATE "C" NOT NULL,
                path TEXT COLLATE "C" NOT NULL,
                user_id TEXT COLLATE "C",
                timestamp TIMESTAMPTZ NOT NULL,
                created_at TIMESTAMPTZ DEFAULT now(),
                -- One index serves both the site loads (a site's events, by time) and the catch-ups (by id),
                -- where three served them before (the primary key on id, event_id's, and this one).
                CONSTRAINT events_pkey PRIMARY KEY (site_id, timestamp, id) INCLUDE (event_type, path, user_id)
            ) PARTITION BY RANGE (timestamp);
            ALTER SEQUENCE events_id_seq OWNED BY events.id;
            -- Months from 2000 to 2099 get a partition each, made when an insert first needs it (and the
            -- current month and the next two ahead); any other instant the contract allows goes to one of these.
            CREATE TABLE events_past PARTITION OF events FOR VALUES FROM (MINVALUE) TO ('2000-01-01 00:00:00+00')
                WITH (autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);
            CREATE TABLE events_future PARTITION OF events FOR VALUES FROM ('2100-01-01 00:00:00+00') TO (MAXVALUE)
                WITH (autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);
            -- The first month retention keeps (analytics retention): inserts take no event before it. Inserts hold
            -- advisory lock 4242014 shared while they read it; retention takes it exclusively to move it, so
            -- that once it has moved no insert can still land in a month being dropped.
            CREATE TABLE retention (
                singleton BOOLEAN PRIMARY KEY DEFAULT true CHECK (singleton),
                first_month DATE
            );
            INSERT INTO retention VALUES (true, NULL);
            -- Makes and attaches the partition of a month (its first day), unless it is there: CREATE TABLE
            -- then ATTACH, which locks events in SHARE UPDATE EXCLUSIVE mode only (inserts and reads go on),
            -- where CREATE TABLE ... PARTITION OF would lock it exclusively. Returns whether it made one. A
            -- month before the first kept needs none (its events are expired). A table of that name that is
            -- not attached (or being detached) is one retention detached and has not dropped yet: never attached
            -- again here (SQLSTATE 55006, which the store treats as unavailable: retention finishes it). A lock
            -- held by a detach in progress is waited for 5 seconds at most (55P03, unavailable too; the
            -- setting is the function's own, not its caller's transaction's).
            CREATE FUNCTION events_month_partition(month date) RETURNS boolean LANGUAGE plpgsql SET lock_timeout = '5s' AS $$
            DECLARE
                partition_name text := 'events_y' || to_char(month, 'YYYY') || 'm' || to_char(month, 'MM');
                bound_from text := to_char(month, 'YYYY-MM-DD') || ' 00:00:00+00';
                bound_to text := to_char(month + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00';
            BEGIN
                IF month <> date_trunc('month', month)::date OR month < date '2000-01-01' OR month >= date '2100-01-01' THEN
                    RAISE EXCEPTION 'no partition of its own for the month of %', month USING ERRCODE = '22023';
                END IF;
                PERFORM pg_advisory_xact_lock(4242013);
                IF month < (SELECT first_month FROM retention) THEN
                    RETURN false;
                END IF;
                IF EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                           WHERE i.inhparent = 'events'::regclass AND c.relname = partition_name AND NOT i.inhdetachpending) THEN
                    RETURN false;
                END IF;
                IF to_regclass(partition_name) IS NOT NULL THEN
                    RAISE EXCEPTION 'the partition % was detached by retention and is not dropped yet', partition_name
                        USING ERRCODE = '55006', HINT = 'run analytics retention again';
                END IF;
                EXECUTE format('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS) '
                    'WITH (autovacuum_vacuum_insert_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01)', partition_name);
                EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', partition_name, bound_from, bound_to);
                RETURN true;
            END
            $$;
            SELECT events_month_partition(m) FROM (
                SELECT DISTINCT date_trunc('month', timestamp AT TIME ZONE 'UTC')::date AS m FROM events_before_13
                WHERE timestamp >= '2000-01-01 00:00:00+00' AND timestamp < '2100-01-01 00:00:00+00'
                UNION SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') + ahead * interval '1 month')::date FROM generate_series(0, 2) ahead
            ) months ORDER BY m;
            INSERT INTO events (id, event_id, site_id, event_type, path, user_id, timestamp, created_at)
                SELECT id, event_id, site_id, event_type, path, user_id, timestamp, created_at FROM events_before_13;
            CREATE TABLE event_ids (
                site_id TEXT COLLATE "C" NOT NULL,
                event_id UUID NOT NULL,
                -- The month of the event's timestamp: retention deletes a month's ids with its partition.
                month DATE NOT NULL,
                PRIMARY KEY (site_id, event_id)
            );
            -- Ids arrive roughly in the order of their months: a block range index finds a month's at the cost
            -- of a few pages, where a B-tree would cost every insert another key.
            CREATE INDEX event_ids_month ON event_ids USING brin (month);
            INSERT INTO event_ids SELECT site_id, event_id, date_trunc('month', timestamp AT TIME ZONE 'UTC')::date FROM events_before_13;
            DROP TABLE events_before_13;
            -- The change log now holds each event's timestamp beside its id, the key a catch-up reads it by.
            DELETE FROM site_changes;
            ALTER TABLE site_changes ADD COLUMN timestamps TIMESTAMPTZ[] NOT NULL;
            ALTER TABLE site_changes ALTER COLUMN timestamps SET STORAGE EXTERNAL;
            """),
    ]

    /// The schema version this build writes to.
    public static var latest: Int { all.last!.version }

    /// The tables writers insert into, now or at an earlier version: `migrate` locks those that exist
    /// while it changes the schema, so that no insert commits between a migration's fill of a new table
    /// and its commit.
    static let writtenTables = [
        "events", "site_paths", "site_path_totals", "site_users", "site_user_counts", "site_visitors", "site_visitor_counts",
        "site_versions", "site_changes", "event_ids",
    ]
}
