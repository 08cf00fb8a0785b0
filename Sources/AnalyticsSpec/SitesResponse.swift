import JSONSchemaValidation

/// The answer to `GET /sites` (spec/sites-response.schema.json): what the dashboard lists.
public struct SitesResponse: Sendable, Hashable {
    /// The token presented, by its public parts only.
    public struct Token: Sendable, Hashable {
        public var id: String
        public var name: String?

        public init(id: String, name: String?) {
            self.id = id
            self.name = name
        }
    }

    /// Sorted by UTF-8 bytes, without repeats.
    public var sites: [String]
    /// Nil when reporting runs without access control.
    public var token: Token?

    public init(sites: some Sequence<String>, token: Token?) {
        // By bytes, as Postgres's "C" collation orders them (site ids are ASCII: capitals first).
        self.sites = Array(Set(sites)).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        self.token = token
    }

    /// The response body, members in the order the spec gives.
    public var json: JSONValue {
        let token: JSONValue = self.token.map {
            .object(JSONObject(uniqueMembers: [("id", .string($0.id)), ("name", $0.name.map(JSONValue.string) ?? .null)]))
        } ?? .null
        return .object(JSONObject(uniqueMembers: [("sites", .array(sites.map(JSONValue.string))), ("token", token)]))
    }
}
