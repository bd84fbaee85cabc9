import Foundation

/// The snapshot cache beside the image cache: `snapshots/<key>/` holds a saved, ready guest (`state`, a
/// hypervisor's migration stream; `ram`, its memory when kept apart; `disk.qcow2`, the template's disk
/// overlay when the image has a disk, which restored VMs' overlays are backed by) and `meta.json` saying what
/// it was saved from. The key hashes the image
/// id, the machine shape and the hypervisor's version (see V2M's `SnapshotKey`), so any change is a miss.
///
/// Entries appear only by renaming a finished directory from `tmp/` (state file synced, then meta written),
/// so a crash or a full disk while saving leaves no entry. `lookup` checks an entry against what the caller
/// expects and its file size against the meta: a moved, stale or truncated entry is reported, not used.
public struct SnapshotStore: Sendable, Equatable {
    public let state: StateDirectory

    public init(state: StateDirectory) {
        self.state = state
    }

    public var directory: String { state.root + "/snapshots" }

    /// Where a node's VMs find and save snapshots: the node's own cache (`nodeState`, `VHPC_NODE_STATE`),
    /// where they are saved, then this machine's (`vhpc vse build --snapshot` saves there).
    public static func forNode(_ nodeState: String?) -> [SnapshotStore] {
        let machine = SnapshotStore(state: StateDirectory.resolve())
        guard let nodeState, nodeState != machine.state.root else { return [machine] }
        return [SnapshotStore(state: StateDirectory(root: nodeState)), machine]
    }

    /// What an entry was saved from.
    public struct Meta: Codable, Sendable, Equatable {
        public var key: String
        public var imageID: String
        /// The machine shape, in words (vCPUs, memory, devices, accelerator).
        public var shape: String
        /// The hypervisor's version line.
        public var hypervisor: String
        /// Size of `state`.
        public var stateBytes: UInt64 = 0
        /// Size of `ram` (0: none, the memory is in `state`).
        public var ramBytes: UInt64 = 0
        /// Size of `disk.qcow2` (nil: the image has no disk).
        public var diskBytes: UInt64?
        /// The base image `disk.qcow2` is backed by (it must still be there).
        public var diskBase: String?
        public var createdAt: Date = Date()

        public init(key: String, imageID: String, shape: String, hypervisor: String) {
            self.key = key
            self.imageID = imageID
            self.shape = shape
            self.hypervisor = hypervisor
        }
    }

    /// A complete entry.
    public struct Entry: Sendable, Equatable {
        public var meta: Meta
        public var directory: String
        public var statePath: String { directory + "/state" }
        public var ramPath: String { directory + "/ram" }
        /// The template's disk overlay (qcow2, backed by `meta.diskBase`); read-only once published.
        public var diskPath: String { directory + "/disk.qcow2" }
    }

    /// What `lookup` found.
    public enum Lookup: Sendable, Equatable {
        case absent
        case found(Entry)
        /// An entry is there but must not be used; the reason names what differs.
        case unusable(path: String, reason: String)
    }

    /// The entry for `expected.key`, checked against `expected`.
    public func lookup(_ expected: Meta) -> Lookup {
        let path = directory + "/" + expected.key
        guard FileManager.default.fileExists(atPath: path) else { return .absent }
        guard let data = FileManager.default.contents(atPath: path + "/meta.json"),
              let meta = try? Self.decoder.decode(Meta.self, from: data) else {
            return .unusable(path: path, reason: "its meta.json is missing or unreadable")
        }
        if meta.hypervisor != expected.hypervisor {
            return .unusable(path: path, reason: "it was saved by \(meta.hypervisor), this host runs \(expected.hypervisor)")
        }
        if meta.shape != expected.shape {
            return .unusable(path: path, reason: "it was saved for machine shape '\(meta.shape)', this VM is '\(expected.shape)'")
        }
        if meta.imageID != expected.imageID || meta.key != expected.key {
            return .unusable(path: path, reason: "it was saved from image \(meta.imageID.prefix(12)), not \(expected.imageID.prefix(12))")
        }
        let entry = Entry(meta: meta, directory: path)
        let size = (try? FileManager.default.attributesOfItem(atPath: entry.statePath)[.size] as? NSNumber)?.uint64Value
        guard let size, size == meta.stateBytes, size > 0 else {
            return .unusable(path: path, reason: "its state file has \(size.map { "\($0)" } ?? "no") bytes, \(meta.stateBytes) were saved (truncated?)")
        }
        if meta.ramBytes > 0 {
            let ram = (try? FileManager.default.attributesOfItem(atPath: entry.ramPath)[.size] as? NSNumber)?.uint64Value
            guard ram == meta.ramBytes else {
                return .unusable(path: path, reason: "its ram file has \(ram.map { "\($0)" } ?? "no") bytes, \(meta.ramBytes) were saved (truncated?)")
            }
        }
        if let diskBytes = meta.diskBytes {
            let disk = (try? FileManager.default.attributesOfItem(atPath: entry.diskPath)[.size] as? NSNumber)?.uint64Value
            guard disk == diskBytes else {
                return .unusable(path: path, reason: "its disk overlay has \(disk.map { "\($0)" } ?? "no") bytes, \(diskBytes) were saved (truncated?)")
            }
            if let base = meta.diskBase, !FileManager.default.fileExists(atPath: base) {
                return .unusable(path: path, reason: "the base disk its overlay is backed by (\(base)) is gone")
            }
        }
        return .found(entry)
    }

    /// A fresh directory under `tmp/` to save a snapshot's `state` into before `commit`.
    public func makeStaging() throws -> String {
        try TemporaryDirectory(in: state.tmp, prefix: "snapshot").path
    }

    /// Publishes `staging` (holding `state`, perhaps `ram` and `disk.qcow2`) as the entry for `meta.key`: syncs
    /// the files, writes the meta, renames the directory into place. On any failure `staging` is removed and nothing is published.
    @discardableResult
    public func commit(staging: String, meta: Meta) throws -> Entry {
        do {
            var meta = meta
            meta.stateBytes = try Self.sync(staging + "/state")
            guard meta.stateBytes > 0 else { throw SnapshotStoreError.io("\(staging)/state is empty") }
            if FileManager.default.fileExists(atPath: staging + "/ram") { meta.ramBytes = try Self.sync(staging + "/ram") }
            if FileManager.default.fileExists(atPath: staging + "/disk.qcow2") { meta.diskBytes = try Self.sync(staging + "/disk.qcow2") }
            meta.createdAt = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            try encoder.encode(meta).write(to: URL(fileURLWithPath: staging + "/meta.json"), options: .atomic)
            try state.ensure(directory)
            let destination = directory + "/" + meta.key
            if FileManager.default.fileExists(atPath: destination) { try? SafeRemoval.remove(destination, via: state) }
            try AtomicRename.publish(staging, to: destination)
            return Entry(meta: meta, directory: destination)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    /// Flushes a saved file to disk; returns its size.
    private static func sync(_ path: String) throws -> UInt64 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SnapshotStoreError.io("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SnapshotStoreError.io("cannot sync \(path): \(String(cString: strerror(errno)))") }
        var info = stat()
        fstat(fd, &info)
        return UInt64(info.st_size)
    }

    /// Removes an entry (a stale or corrupt one, or one whose image is gone).
    public func remove(key: String) {
        let path = directory + "/" + key
        if FileManager.default.fileExists(atPath: path) { try? SafeRemoval.remove(path, via: state) }
    }

    /// Removes every entry saved from image `imageID`; returns the bytes freed.
    @discardableResult
    public func remove(imageID: String) -> UInt64 {
        var freed: UInt64 = 0
        for entry in list() where entry.meta.imageID == imageID {
            freed += DiskUsage.bytes(at: entry.directory)
            remove(key: entry.meta.key)
        }
        return freed
    }

    /// Removes the snapshots of image `imageID` from `state` and its local nodes' caches (`nodes/<rank>`),
    /// as `vhpc vse rm` and `gc` do with the image; returns the bytes freed.
    @discardableResult
    public static func removeEverywhere(imageID: String, state: StateDirectory) -> UInt64 {
        let nodes = (try? FileManager.default.contentsOfDirectory(atPath: state.root + "/nodes")) ?? []
        return ([state] + nodes.map { StateDirectory(root: state.root + "/nodes/" + $0) })
            .reduce(UInt64(0)) { $0 + SnapshotStore(state: $1).remove(imageID: imageID) }
    }

    /// Every entry with a readable meta.
    public func list() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: directory + "/" + name + "/meta.json"),
                  let meta = try? Self.decoder.decode(Meta.self, from: data) else { return nil }
            return Entry(meta: meta, directory: directory + "/" + name)
        }
    }

    /// Takes the per-key lock (one VM saves a snapshot while the node's others wait for it), polling until
    /// `timeout`; nil if it could not be taken. Released by `SnapshotLock.release` or when the process ends.
    public func lock(key: String, timeout: Duration) async -> SnapshotLock? {
        guard (try? state.ensure(directory)) != nil else { return nil }
        let fd = open(directory + "/." + key + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if clock.now >= deadline || Task.isCancelled {
                close(fd)
                return nil
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return SnapshotLock(fd: fd)
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

/// A held snapshot key lock.
public struct SnapshotLock: Sendable {
    let fd: Int32

    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// Why saving a snapshot failed.
public enum SnapshotStoreError: Error, CustomStringConvertible {
    case io(String)

    public var description: String {
        switch self {
        case .io(let why): return "snapshot cache: \(why)"
        }
    }
}
