/// One key-value pair of a job's PMI key-value space (an MPI library's business card, for instance).
public struct PMIEntry: Codable, Sendable, Hashable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
