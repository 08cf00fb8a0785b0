import AnalyticsSpec
import Testing

/// Which names `tz` takes: IANA names, also those Foundation resolves without listing them, and nothing
/// that Foundation reads but PostgreSQL or POSIX would read otherwise.
@Suite struct ReportingZoneNameTests {
    @Test(arguments: ["UTC", "Asia/Kolkata", "Asia/Calcutta", "Asia/Kathmandu", "Europe/Kyiv", "America/Argentina/Buenos_Aires",
                      "Etc/GMT+5", "America/Port-au-Prince"])
    func takes(_ name: String) {
        #expect(ReportingZone(named: name)?.name == name)
    }

    @Test(arguments: ["Mars/Olympus", "EST", "GMT+5", "UTC+01:00", "asia/kolkata", "Asia/", "/Kolkata", "Asia//Kolkata", "Asia/Kolkata/",
                      "", " Asia/Kolkata", "Asia/Kol kata", "A/B/C/D", "Etc/Unknown", "posix/Europe/Berlin", "right/Europe/Berlin"])
    func refuses(_ name: String) {
        #expect(ReportingZone(named: name) == nil)
    }

    /// `Etc/GMT+5` is five hours behind UTC, as in the IANA database and PostgreSQL (POSIX's sign).
    @Test func etcNamesKeepTheIANASign() throws {
        #expect(try #require(ReportingZone(named: "Etc/GMT+5")).offsetSeconds(atMicroseconds: 0) == -18_000)
        #expect(try #require(ReportingZone(named: "Etc/GMT-3")).offsetSeconds(atMicroseconds: 0) == 10_800)
    }

    /// Kolkata and its old name Calcutta are the same rules (+05:30 since 1945).
    @Test func anAliasHasTheRulesOfItsName() throws {
        let kolkata = try #require(ReportingZone(named: "Asia/Kolkata"))
        let calcutta = try #require(ReportingZone(named: "Asia/Calcutta"))
        for instant in stride(from: Int64(1_700_000_000_000_000), to: 1_800_000_000_000_000, by: 7_777_777_000_000) {
            #expect(kolkata.offsetSeconds(atMicroseconds: instant) == 19_800)
            #expect(calcutta.offsetSeconds(atMicroseconds: instant) == 19_800)
        }
    }
}
