/// Connection URLs without their secrets, for messages and logs: `redis://user:***@host:6379/0`.
///
/// A connection URL holds a password, and start-up errors and logs are read by more people than should
/// know it. The URL is read leniently, since a malformed one is what an error is most likely about: the
/// user information is everything between `://` (or the start) and the last `@`, and the value of any
/// `password=` parameter (a libpq key=value string, or a URI's query) is a secret too.
public enum URLRedaction {
    /// `url` with its password replaced by `***`.
    /// - Parameter userAloneIsPassword: whether user information without a colon is a password, as in
    ///   `redis://secret@host`; otherwise it is a user name, as in `postgres://analytics@host`.
    public static func redact(_ url: String, userAloneIsPassword: Bool = false) -> String {
        read(url, userAloneIsPassword: userAloneIsPassword).redacted
    }

    /// `message` (a client library's error, say) with `url` redacted wherever it appears, and every
    /// secret of `url` replaced by `***` wherever it appears alone: libpq quotes the part of a URL it
    /// cannot parse, which can be the password.
    public static func scrub(_ message: String, of url: String, userAloneIsPassword: Bool = false) -> String {
        let (redacted, secrets) = read(url, userAloneIsPassword: userAloneIsPassword)
        var scrubbed = url.isEmpty ? message : message.replacing(url, with: redacted)
        for secret in secrets.sorted(by: { $0.count > $1.count }) where !secret.isEmpty {
            scrubbed = scrubbed.replacing(secret, with: "***")
        }
        return scrubbed
    }

    /// The redacted URL, and each secret as written and as decoded.
    private static func read(_ url: String, userAloneIsPassword: Bool) -> (redacted: String, secrets: [String]) {
        var secrets: [String] = []
        var redacted = url
        let start = url.firstRange(of: "://")?.upperBound ?? url.startIndex
        if let at = url[start...].lastIndex(of: "@") {
            let userInfo = url[start..<at]
            if let colon = userInfo.firstIndex(of: ":") {
                let password = userInfo[userInfo.index(after: colon)...]
                if !password.isEmpty {
                    secrets.append(String(password))
                    redacted = String(url[...colon]) + "***" + String(url[at...])
                }
            } else if userAloneIsPassword, !userInfo.isEmpty {
                secrets.append(String(userInfo))
                redacted = String(url[..<start]) + "***" + String(url[at...])
            }
        }
        redacted = redactingPasswordParameters(redacted, secrets: &secrets)
        return (redacted, secrets.flatMap { [$0, percentDecoded($0)] })
    }

    /// `text` with the value of every `password=` (any case, spaces allowed around `=`) replaced by
    /// `***`: up to the next space or `&`, or a whole single-quoted value as libpq reads it.
    private static func redactingPasswordParameters(_ text: String, secrets: inout [String]) -> String {
        let characters = Array(text)
        let key = Array("password")
        var result = ""
        var index = 0
        while index < characters.count {
            if index + key.count <= characters.count,
               zip(characters[index..<index + key.count], key).allSatisfy({ $0.lowercased() == String($1) }) {
                var cursor = index + key.count
                while cursor < characters.count, characters[cursor] == " " { cursor += 1 }
                if cursor < characters.count, characters[cursor] == "=" {
                    cursor += 1
                    while cursor < characters.count, characters[cursor] == " " { cursor += 1 }
                    let valueStart = cursor
                    if cursor < characters.count, characters[cursor] == "'" {
                        cursor += 1
                        while cursor < characters.count, characters[cursor] != "'" {
                            if characters[cursor] == "\\" { cursor += 1 }
                            cursor += 1
                        }
                        cursor = min(cursor + 1, characters.count)
                    } else {
                        while cursor < characters.count, !characters[cursor].isWhitespace, characters[cursor] != "&" { cursor += 1 }
                    }
                    if cursor > valueStart {
                        let value = String(characters[valueStart..<cursor])
                        secrets.append(value)
                        if value.hasPrefix("'") { secrets.append(String(value.dropFirst().dropLast())) }
                        result += String(characters[index..<valueStart]) + "***"
                        index = cursor
                        continue
                    }
                }
            }
            result.append(characters[index])
            index += 1
        }
        return result
    }

    /// `%XX` sequences decoded, others left as they are, as the clients read a URL's user information.
    private static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var rest = Array(text.utf8)[...]
        while let byte = rest.popFirst() {
            if byte == UInt8(ascii: "%"), rest.count >= 2,
               let value = UInt8(String(decoding: rest.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                rest = rest.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
