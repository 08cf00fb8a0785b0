import AnalyticsSpec
import Foundation
import Testing

@Suite struct SpecEmbeddingTests {
    @Test func embeddedDocumentsAreByteIdenticalToSpec() throws {
        let files = Repository.files(in: Repository.spec, withSuffix: ".schema.json")
        #expect(files.count == 20)
        #expect(Contract.embeddedDocuments.map(\.name) == files.map(\.lastPathComponent),
                "run scripts/embed-spec after changing spec/")
        for file in files {
            let embedded = try #require(Contract.embeddedDocuments.first { $0.name == file.lastPathComponent })
            #expect(Array(embedded.text.utf8) == Array(try Data(contentsOf: file)),
                    "\(file.lastPathComponent) differs from its embedded copy: run scripts/embed-spec")
        }
    }

    @Test func theContractCompilesFromSpecOnDisk() throws {
        let documents = try Repository.files(in: Repository.spec, withSuffix: ".schema.json").map {
            (name: $0.lastPathComponent, text: try String(contentsOf: $0, encoding: .utf8))
        }
        _ = try Contract(documents: documents)
    }

    @Test func everySchemaDocumentHasItsIdUnderTheBaseURI() throws {
        for document in Contract.embeddedDocuments {
            #expect(document.text.contains(#""$id": "\#(Contract.baseURI)\#(document.name)""#))
            #expect(document.text.contains(#""$schema": "https://json-schema.org/draft/2020-12/schema""#))
        }
    }
}
