/// Commands written in the Redis protocol's request form, ready to send as one pipeline.
public struct RESPRequest: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// How many commands `bytes` holds, so how many replies come back.
    public private(set) var commands = 0

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    public init(_ commands: [[RedisArgument]]) {
        self.init(capacity: commands.reduce(0) { $0 + $1.reduce(16) { $0 + $1.bytes.count + 16 } })
        for command in commands { append(command) }
    }

    public mutating func append(_ arguments: [RedisArgument]) {
        beginCommand(arguments: arguments.count)
        for argument in arguments { appendArgument(argument.bytes) }
    }

    /// Starts a command of `arguments` arguments, each to follow through `appendArgument`.
    public mutating func beginCommand(arguments: Int) {
        header(UInt8(ascii: "*"), arguments)
        commands += 1
    }

    public mutating func appendArgument(_ argument: some Collection<UInt8>) {
        header(UInt8(ascii: "$"), argument.count)
        bytes.append(contentsOf: argument)
        bytes.append(0x0D)
        bytes.append(0x0A)
    }

    /// Appends an argument that `write` appends to the request's bytes, so that it is not built
    /// elsewhere first; its length prefix is put in front of it afterwards.
    public mutating func appendArgument(writing write: (inout [UInt8]) -> Void) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: Self.lengthRoom))
        write(&bytes)
        let length = bytes.count - start - Self.lengthRoom
        bytes.replaceSubrange(start..<start + Self.lengthRoom, with: "$\(length)\r\n".utf8)
        bytes.append(0x0D)
        bytes.append(0x0A)
    }

    /// Bytes set aside for `$<length>\r\n`: any length of an `Int`.
    private static let lengthRoom = 22

    public mutating func append(_ other: RESPRequest) {
        bytes.append(contentsOf: other.bytes)
        commands += other.commands
    }

    private mutating func header(_ marker: UInt8, _ count: Int) {
        bytes.append(marker)
        if count < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(count))
        } else {
            bytes.append(contentsOf: String(count).utf8)
        }
        bytes.append(0x0D)
        bytes.append(0x0A)
    }
}
