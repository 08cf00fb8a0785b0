#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Metrics
import Synchronization

/// The process's own figures under the names every Prometheus client library uses (`process_*`), read
/// from `/proc/self` at each scrape. Written here because swift-metrics no longer carries its system
/// metrics, and swift-system-metrics is not in the package mirror; the reads are a few hundred bytes of
/// procfs, which never waits on a disk. Elsewhere than Linux, only the file-descriptor limit is known.
final class ProcessMetrics: Sendable {
    private let cpu: FloatingPointCounter
    private let resident: Gauge
    private let virtual: Gauge
    private let openFiles: Gauge
    private let maxFiles: Gauge
    private let startTime: Gauge
    /// CPU seconds already counted: the counter only goes up, so each scrape adds what was spent since.
    private let counted = Mutex(0.0)
    /// When the machine booted (seconds since the epoch), read once: /proc/stat grows with the CPUs.
    private let bootTime: Int?

    init(factory: any MetricsFactory) {
        cpu = FloatingPointCounter(label: "process_cpu_seconds_total", dimensions: [], factory: factory)
        resident = Gauge(label: "process_resident_memory_bytes", dimensions: [], factory: factory)
        virtual = Gauge(label: "process_virtual_memory_bytes", dimensions: [], factory: factory)
        openFiles = Gauge(label: "process_open_fds", dimensions: [], factory: factory)
        maxFiles = Gauge(label: "process_max_fds", dimensions: [], factory: factory)
        startTime = Gauge(label: "process_start_time_seconds", dimensions: [], factory: factory)
        #if os(Linux)
        bootTime = Self.read("/proc/stat").flatMap(Self.bootTime)
        #else
        bootTime = nil
        #endif
    }

    func update() {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFiles.record(Double(limit.rlim_cur)) }
        #if os(Linux)
        if let stat = Self.read("/proc/self/stat").flatMap(ProcStat.init) {
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            let seconds = Double(stat.userTicks + stat.systemTicks) / ticks
            let delta = counted.withLock { counted -> Double in
                let delta = max(0, seconds - counted)
                counted += delta
                return delta
            }
            if delta > 0 { cpu.increment(by: delta) }
            resident.record(Double(stat.residentPages) * Double(sysconf(Int32(_SC_PAGESIZE))))
            virtual.record(Double(stat.virtualBytes))
            if let boot = bootTime {
                startTime.record(Double(boot) + Double(stat.startTicks) / ticks)
            }
        }
        if let count = Self.entries(of: "/proc/self/fd") { openFiles.record(Double(count)) }
        #endif
    }

    /// A small file's bytes: procfs files are generated as they are read, so read until the end.
    static func read(_ path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 1 << 20 {
            let count = chunk.withUnsafeMutableBytes { systemRead(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return bytes
    }

    /// The `btime` line of /proc/stat: when the machine booted, in seconds since the epoch.
    static func bootTime(_ stat: [UInt8]) -> Int? {
        for line in stat.split(separator: UInt8(ascii: "\n")) where line.starts(with: "btime ".utf8) {
            return Int(String(decoding: line.dropFirst(6), as: UTF8.self).trimmingSpaces)
        }
        return nil
    }

    /// The entries of a directory, `.` and `..` left out; one of them is the directory being read itself.
    static func entries(of path: String) -> Int? {
        guard let directory = opendir(path) else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                name[0] == UInt8(ascii: ".") && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
            }
            if !isDot { count += 1 }
        }
        return max(0, count - 1)
    }
}

/// The fields of `/proc/self/stat` that `ProcessMetrics` reports (proc(5)). The second field, the command
/// name, is in parentheses and may hold spaces and parentheses itself, so fields are counted from the last `)`.
struct ProcStat: Equatable {
    var userTicks: Int
    var systemTicks: Int
    var startTicks: Int
    var virtualBytes: Int
    var residentPages: Int

    init?(_ bytes: [UInt8]) {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // Fields from the third (state) on; field n is at index n - 3.
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
        func field(_ number: Int) -> Int? { fields.indices.contains(number - 3) ? Int(fields[number - 3].trimmingSpaces) : nil }
        guard let user = field(14), let system = field(15), let start = field(22), let virtual = field(23), let resident = field(24)
        else { return nil }
        (userTicks, systemTicks, startTicks, virtualBytes, residentPages) = (user, system, start, virtual, resident)
    }
}

#if canImport(Glibc)
private let systemRead = Glibc.read
#elseif canImport(Darwin)
private let systemRead = Darwin.read
#endif

extension String {
    fileprivate var trimmingSpaces: Substring {
        var text = Substring(self)
        while let last = text.last, last == " " || last == "\n" { text.removeLast() }
        while let first = text.first, first == " " { text.removeFirst() }
        return text
    }
}
