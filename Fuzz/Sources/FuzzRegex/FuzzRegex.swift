import FuzzSupport
import JSONSchemaValidation

// The input's first line (up to the first 0x0A) is an ECMA-262 pattern, the rest a subject, both read as
// UTF-8 (invalid sequences become U+FFFD). When ECMARegex compiles the pattern, matching the subject (and
// the empty string) must end without a crash, and within libFuzzer's -timeout: the engine backtracks, and
// its step budget (ECMARegex.stepBudget) and depth limit are what keep hostile patterns from hanging it or
// overflowing the stack. There is no oracle for the verdict: no other engine here has ECMA-262 semantics,
// and a search that runs out of steps answers "no match" without saying so, which rules out comparing a
// pattern with rewritten forms of itself.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let newline = input.firstIndex(of: 0x0A) ?? size
    let pattern = String(decoding: UnsafeBufferPointer(rebasing: input[..<newline]), as: UTF8.self)
    let subject = newline < size
        ? String(decoding: UnsafeBufferPointer(rebasing: input[(newline + 1)...]), as: UTF8.self) : ""

    let regex: ECMARegex
    do {
        regex = try ECMARegex(pattern)
    } catch {
        _ = error.description
        return 0
    }
    _ = regex.matches(subject)
    _ = regex.matches("")
    return 0
}
