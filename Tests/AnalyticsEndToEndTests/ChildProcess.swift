import Foundation
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn, its output sent to a file. Waiting for it (a blocking
/// waitpid) runs on a thread of NIOThreadPool, never on the cooperative pool.
final class ChildProcess: Sendable {
    let pid: pid_t
    let name: String

    init(_ path: String, _ arguments: [String], environment: [String: String], log: String) throws {
        name = URL(fileURLWithPath: path).lastPathComponent + " " + arguments.joined(separator: " ")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, path, &actions, nil, argv, envp)
        guard status == 0 else { throw Failure("cannot start \(path): \(String(cString: strerror(status)))") }
        self.pid = pid
    }

    func signal(_ signal: Int32) { _ = Glibc.kill(pid, signal) }

    /// Whether the process has ended. It is not reaped: `wait()` still returns its status.
    var hasEnded: Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._kill.si_pid == pid
    }

    /// Waits for the process to end; returns its exit status (128 + signal when killed).
    func wait() async throws -> Int32 {
        let pid = self.pid
        return try await NIOThreadPool.singleton.runIfActive {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            let signalled = status & 0x7F
            return signalled == 0 ? (status >> 8) & 0xFF : 128 + signalled
        }
    }

    /// Runs a command to its end.
    static func run(_ path: String, _ arguments: [String], log: String) async throws -> Int32 {
        try await ChildProcess(path, arguments, environment: ProcessInfo.processInfo.environment, log: log).wait()
    }
}
