import Yams

extension Node {
    /// The resolved tag's name (`Tag.name` itself is internal to Yams).
    var tagName: Tag.Name { Tag.Name(rawValue: tag.rawValue) }
}
