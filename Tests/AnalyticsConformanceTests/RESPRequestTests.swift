import AnalyticsRedis
import Testing

/// The protocol form of commands, offline: an argument written in place is framed like one given whole.
struct RESPRequestTests {
    @Test(arguments: [0, 1, 9, 10, 99, 100, 999, 1000, 65_536])
    func argumentsWrittenInPlaceAreFramedLikeWholeOnes(length: Int) {
        let argument = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var whole = RESPRequest()
        var inPlace = RESPRequest()
        whole.beginCommand(arguments: 3)
        whole.appendArgument(Array("SET".utf8))
        whole.appendArgument(argument)
        whole.appendArgument(Array("x".utf8))
        inPlace.beginCommand(arguments: 3)
        inPlace.appendArgument(Array("SET".utf8))
        inPlace.appendArgument { $0.append(contentsOf: argument) }
        inPlace.appendArgument(Array("x".utf8))
        #expect(inPlace.bytes == whole.bytes)
        #expect(inPlace.commands == 1)
        #expect(whole.bytes.starts(with: Array("*3\r\n$3\r\nSET\r\n$\(length)\r\n".utf8)))
    }
}
