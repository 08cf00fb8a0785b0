/// The path of a page's address, as an event's `path`: the Segment mapping and the script tag's hits read
/// one from a URL.
public enum URLPath {
    /// From the first `/` after `scheme://host` to before its query or fragment; `/` when it has none. A
    /// relative URL starting with `/` is read as a path; anything else is `/`.
    public static func of(_ url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") {
            rest = rest[scheme.upperBound...]
            guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }), rest[slash] == "/" else { return "/" }
            rest = rest[slash...]
        } else if !rest.hasPrefix("/") {
            return "/"
        }
        let end = rest.firstIndex { $0 == "?" || $0 == "#" } ?? rest.endIndex
        let path = rest[..<end]
        return path.isEmpty ? "/" : String(path)
    }
}
