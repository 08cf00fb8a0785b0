import FuzzSupport

/// libFuzzer's driver, calling `LLVMFuzzerTestOneInput` (see FuzzSupport's `runLibFuzzer` for why it is
/// started from here).
@main
enum Main {
    static func main() {
        runLibFuzzer(fuzz)
    }
}
