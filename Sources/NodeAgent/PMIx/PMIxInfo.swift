/// One PMIx info entry as vhpc describes it; ``PMIxServer`` turns a list of them into `pmix_info_t`s.
public struct PMIxInfo: Sendable, Hashable {
    public indirect enum Value: Sendable, Hashable {
        case string(String)
        case uint32(UInt32)
        case uint16(UInt16)
        case rank(UInt32)
        case bool(Bool)
        /// A `PMIX_DATA_ARRAY` of infos (per-proc data, for instance).
        case infos([PMIxInfo])
    }

    public var key: String
    public var value: Value

    public init(_ key: String, _ value: Value) {
        self.key = key
        self.value = value
    }
}

extension [PMIxInfo] {
    /// The value under `key`, if any (first match).
    public subscript(key: String) -> PMIxInfo.Value? {
        first { $0.key == key }?.value
    }
}
