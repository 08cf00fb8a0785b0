/// One violation of a schema by an instance.
public struct SchemaViolation: Sendable, Hashable, CustomStringConvertible {
    /// Where in the instance the violation is. For `required`, `additionalProperties` and
    /// `dependentRequired` it names the missing or unexpected member itself.
    public let instancePath: JSONPointer
    /// The schema keyword that failed, such as `maxLength` or `format`.
    public let keyword: String
    /// What is wrong, in words a client developer can act on.
    public let message: String

    public init(instancePath: JSONPointer, keyword: String, message: String) {
        self.instancePath = instancePath
        self.keyword = keyword
        self.message = message
    }

    public var description: String {
        "\(instancePath.description.isEmpty ? "(root)" : instancePath.description): \(message) [\(keyword)]"
    }
}

/// A schema that cannot be loaded or compiled.
public struct SchemaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The schema location (URI with a JSON Pointer fragment) where the problem is.
    public let location: String
    public let reason: String

    public init(location: String, reason: String) {
        self.location = location
        self.reason = reason
    }

    public var description: String { "\(location): \(reason)" }
}
