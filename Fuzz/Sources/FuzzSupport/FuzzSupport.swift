#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `text` and a newline to standard error, unbuffered, so that it is on the terminal (and in
/// libFuzzer's log) before a trap ends the process.
public func report(_ text: String) {
    var line = text
    line += "\n"
    line.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
            if written <= 0 { return }
            offset += written
        }
    }
}

/// Ends the process with a trap, which libFuzzer reports as a crash and saves the input for, after
/// printing what disagreed. Every target calls it for a broken invariant: a disagreement is a crash.
public func disagreement(_ what: String, input: UnsafeBufferPointer<UInt8>, _ details: [String]) -> Never {
    report("==== DISAGREEMENT: \(what)")
    report("input (\(input.count) bytes), as a Swift [UInt8] literal: \(swiftBytesLiteral(input))")
    report("input as a Swift string literal: \(swiftStringLiteral(input))")
    for detail in details { report("  " + detail) }
    fatalError("fuzz invariant broken: \(what)")
}

/// `[0x7B, 0x7D]`.
public func swiftBytesLiteral(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
    let digits: [Character] = Array("0123456789ABCDEF")
    var out = "["
    for (index, byte) in bytes.enumerated() {
        if index > 0 { out += ", " }
        out += "0x"
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }
    return out + "]"
}

/// A Swift string literal for the bytes decoded as UTF-8, with every scalar outside printable ASCII
/// escaped (`\u{…}`); invalid UTF-8 shows as U+FFFD, so use the byte literal to reproduce such input.
public func swiftStringLiteral(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
    swiftStringLiteral(String(decoding: bytes, as: UTF8.self))
}

public func swiftStringLiteral(_ string: String) -> String {
    var out = "\""
    for scalar in string.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case " "..."~": out.unicodeScalars.append(scalar)
        default: out += "\\u{" + String(scalar.value, radix: 16) + "}"
        }
    }
    return out + "\""
}

/// True when the two strings have the same code points. Swift's `==` on strings is canonical
/// equivalence ("é" equals "e\u{301}"); the project keeps such strings apart, and so must the checks.
public func sameCodePoints(_ a: String, _ b: String) -> Bool {
    a.utf8.elementsEqual(b.utf8)
}

public func sameCodePoints(_ a: String?, _ b: String?) -> Bool {
    switch (a, b) {
    case (nil, nil): true
    case (let a?, let b?): sameCodePoints(a, b)
    default: false
    }
}
