import AnalyticsSpec
import JSONSchemaValidation
import Testing

@Suite struct InstanceReaderTests {
    func read(_ text: String, splitArrays: Bool = true) throws -> [Instance] {
        try InstanceReader.read(Array(text.utf8), splitArrays: splitArrays)
    }

    @Test func aSingleObject() throws {
        let instances = try read("  {\"a\": 1}\n")
        #expect(instances.count == 1)
        #expect(try instances[0].value.get() == ["a": 1])
    }

    @Test func aPrettyPrintedObjectIsOneInstance() throws {
        #expect(try read("{\n  \"a\": 1,\n  \"b\": 2\n}\n").count == 1)
    }

    @Test func anArrayIsItsItemsUnlessToldOtherwise() throws {
        #expect(try read("[1, 2, 3]").map(\.index) == [0, 1, 2])
        #expect(try read("[1, 2, 3]", splitArrays: false).count == 1)
    }

    @Test func ndjsonKeepsLineNumbersAndReportsBadLines() throws {
        let instances = try read("{\"a\":1}\n\n{bad\r\n{\"a\":3}")
        #expect(instances.map(\.index) == [0, 1, 2])
        #expect(instances.map(\.line) == [1, 3, 4])
        #expect((try? instances[1].value.get()) == nil)
        #expect(try instances[2].value.get() == ["a": 3])
    }

    @Test(arguments: ["", "   \n", "nope", "{\"a\":1,\n\"b\":}", "\u{FEFF}"])
    func unreadableInputThrows(text: String) {
        #expect(throws: JSONParseError.self) { try read(text) }
    }
}
