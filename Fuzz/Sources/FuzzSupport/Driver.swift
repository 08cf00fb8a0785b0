#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libFuzzer's own `main` as a function (compiler-rt's FuzzerDriver.cpp), linked in by `-sanitize=fuzzer`.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Hands the process to libFuzzer, which parses the command line and calls `callback` for each input.
///
/// Why not libFuzzer's `main`: SwiftPM links every executable target with the linker told that `main` is
/// `<Target>_main` (`-entry-point-function-name` and `--defsym main=<Target>_main`, so that tests can link
/// the executable's code), even in release builds. A target with no entry point of its own then fails to
/// link, so each target has a `@main` that calls this, and libFuzzer's `main` is never pulled in.
public func runLibFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}
