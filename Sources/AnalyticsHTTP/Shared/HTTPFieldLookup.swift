import HTTPTypes

extension HTTPFields {
    /// The value of the field `name`, as the `String?` subscript gives it, but without building a new
    /// string when the field occurs once: the subscript joins the values of every occurrence.
    func value(of name: HTTPField.Name) -> String? {
        guard let first = firstIndex(where: { $0.name == name }) else { return nil }
        if self[index(after: first)...].contains(where: { $0.name == name }) { return self[name] }
        return self[first].value
    }
}
