import Foundation
import VSE

/// VM records in the state directory: `<state>/vms/<name>.json`, written atomically (temp file + rename).
public struct VMRecordStore: Sendable {
    public let state: StateDirectory

    public init(state: StateDirectory) {
        self.state = state
    }

    private func path(_ name: String) -> String { state.vms + "/" + name + ".json" }

    /// Writes (creates or replaces) a record.
    public func save(_ record: VMRecord) throws(V2MError) {
        do {
            try state.ensure(state.vms)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            let data = try encoder.encode(record)
            let temporary = path(record.name) + ".tmp-\(getpid())"
            guard FileManager.default.createFile(atPath: temporary, contents: data) else {
                throw V2MError.records("cannot write \(temporary)")
            }
            guard rename(temporary, path(record.name)) == 0 else {
                throw V2MError.records("cannot rename \(temporary): errno \(errno)")
            }
        } catch let error as V2MError {
            throw error
        } catch {
            throw .records("cannot save \(record.name): \(error)")
        }
    }

    /// The record of VM `name`, or `unknownVM`.
    public func load(_ name: String) throws(V2MError) -> VMRecord {
        guard let data = FileManager.default.contents(atPath: path(name)) else { throw .unknownVM(name) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do { return try decoder.decode(VMRecord.self, from: data) } catch {
            throw .records("\(path(name)) is unreadable: \(error)")
        }
    }

    /// Every record, by name.
    public func list() -> [VMRecord] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state.vms)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
            .compactMap { try? load(String($0.dropLast(5))) }
    }

    /// Removes a record.
    public func remove(_ name: String) {
        try? FileManager.default.removeItem(atPath: path(name))
    }

    /// True if a record exists.
    public func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: path(name))
    }
}
