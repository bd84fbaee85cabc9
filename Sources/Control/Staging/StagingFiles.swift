import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The I/O shell of staging for one agent: runs ``StagingIO`` on a private serial queue (never on an event
/// loop), with `pwrite`/`pread` on one descriptor per file, and answers with ``StagingEvent``s.
///
/// Node layout (`directory` is the node's state directory, e.g. `$VHPC_HOME/nodes/<rank>` for the local
/// launcher): job files go to `staged/<job>/<path>` (removed by ``close()``), images to `images/<id>/`
/// (assembled in `tmp/stage-<job>-<id>/` and renamed into place once every artifact is committed). A file
/// is written as `<target>.partial-<pid>` and renamed only after the whole-file digest matched (checked by the
/// machine as the last chunk arrives) and `fsync`.
///
/// A file that was complete when opened (the source's, or a node's own copy) is read to feed children: its
/// chunk checksums (``ChunkChain``) are taken here as it is read in order, kept, and a read ahead of the
/// chain first hashes the bytes in between.
public final class StagingFiles: @unchecked Sendable {
    /// Where files come from or go to.
    public enum Role: Sendable {
        /// A node agent writing into its state directory.
        case node(directory: String, jobID: String)
        /// The controller reading the original files, by transfer id.
        case source([UInt64: String])
    }

    struct Handle {
        var fd: Int32
        var partial: String?
        var final: String
        var offer: StagingOffer
        /// The file was complete when opened (the source's, or a node's own copy): its chunk checksums are
        /// taken here. (A file received and committed later has its checksums in the machine.)
        var completeWhenOpened: Bool
        /// Writes whole chunks past the page cache, when the file system allows it (see ``DirectWriter``).
        var direct: DirectWriter? = nil
    }

    /// A complete file's chain over the bytes read so far in order, and its chunks' checksums, by transfer
    /// (outside ``Handle`` so that adding one is an in-place insert, not a copy).
    private var chains: [UInt64: ChunkChain] = [:]
    private var checksums: [UInt64: [UInt64: ChunkChecksum]] = [:]

    public let role: Role
    /// Whether commits `fsync` the file before renaming it (off only for benchmarks that say so).
    public let durable: Bool
    private let queue: DispatchQueue
    private let allocator = ByteBufferAllocator()
    // Touched only on `queue`.
    private var handles: [UInt64: Handle] = [:]
    /// Whether any staging work reached this node: a job that staged nothing left nothing to remove.
    private var used = false
    private var imageCommits: [String: Int] = [:]
    /// Images whose node copy was found intact this job.
    private var verifiedImages: Set<String> = []
    private let committed = NIOLockedValueBox<[Int: String]>([:])

    public init(role: Role, durable: Bool = true) {
        self.role = role
        self.durable = durable
        self.queue = DispatchQueue(label: "vhpc.staging")
    }

    /// Runs `io` in order after earlier work; `deliver` gets the answer (nothing for `discard`).
    public func perform(_ io: StagingIO, deliver: @escaping @Sendable (StagingEvent) -> Void) {
        queue.async {
            if let event = self.execute(io) { deliver(event) }
        }
    }

    /// Variables for tasks: `VHPC_STAGE_DIR`, `VHPC_STAGED_<index>` per committed job file, `VHPC_NODE_STATE`.
    public func taskEnvironment() -> [String: String] {
        guard case .node(let directory, let jobID) = role else { return [:] }
        var environment = ["VHPC_NODE_STATE": directory, "VHPC_STAGE_DIR": Self.jobDirectory(directory, jobID)]
        for (index, path) in committed.withLockedValue({ $0 }) { environment["VHPC_STAGED_\(index)"] = path }
        return environment
    }

    /// Closes every file, removes partial files and (for a node) the job's staged files and image temp dirs.
    /// Waits for queued work first.
    public func close() {
        queue.sync {
            for handle in handles.values { drop(handle) }
            handles = [:]
            chains = [:]
            checksums = [:]
            guard used, case .node(let directory, let jobID) = role else { return }
            Self.removeJobFiles(directory: directory, jobID: jobID)
        }
    }

    /// Removes what a job left in a node directory (its staged files, image temp dirs): also used by the
    /// front-end to sweep after agents that were killed.
    public static func removeJobFiles(directory: String, jobID: String) {
        let manager = FileManager.default
        try? manager.removeItem(atPath: jobDirectory(directory, jobID))
        let tmp = directory + "/tmp"
        for name in (try? manager.contentsOfDirectory(atPath: tmp)) ?? [] where name.hasPrefix("stage-\(jobID)-") {
            try? manager.removeItem(atPath: tmp + "/" + name)
        }
    }

    static func jobDirectory(_ directory: String, _ jobID: String) -> String { directory + "/staged/" + jobID }

    /// Closes a file and removes it if it was still partial.
    private func drop(_ handle: Handle) {
        Glibc.close(handle.fd)
        if let partial = handle.partial { unlink(partial) }
    }

    private func execute(_ io: StagingIO) -> StagingEvent? {
        used = true
        switch io {
        case .open(let offer): return open(offer)
        case .write(let id, let offset, let data): return write(id, offset, data)
        case .read(let id, let offset, let length): return read(id, offset, length, chained: true)
        case .commit(let id): return commit(id)
        case .discard(let id):
            if let handle = handles.removeValue(forKey: id) { drop(handle) }
            chains[id] = nil
            checksums[id] = nil
            return nil
        }
    }

    private func open(_ offer: StagingOffer) -> StagingEvent {
        let id = offer.transferID
        do {
            let (final, present) = try locate(offer)
            if present {
                let fd = Glibc.open(final, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { throw StagingError.io("cannot open \(final)", errno) }
                handles[id] = Handle(fd: fd, partial: nil, final: final, offer: offer, completeWhenOpened: true)
                noteCommitted(offer, final)
                return .opened(transferID: id, present: true)
            }
            let partial = final + ".partial-\(getpid())"
            let directory = (final as NSString).deletingLastPathComponent
            try Self.makePrivateDirectories(directory, below: privateRoot(of: offer))
            // Only the job's user can read it while it arrives; commit gives it its mode.
            let fd = Glibc.open(partial, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { throw StagingError.io("cannot create \(partial)", errno) }
            handles[id] = Handle(
                fd: fd, partial: partial, final: final, offer: offer, completeWhenOpened: false,
                direct: DirectWriter(path: partial, chunkSize: offer.chunkSize))
            return .opened(transferID: id, present: false)
        } catch {
            return .failed(transferID: id, message: "\(offer.target.displayName): \(error)")
        }
    }

    /// The final path of `offer` and whether it is already there (the source's files always are).
    private func locate(_ offer: StagingOffer) throws -> (String, Bool) {
        switch role {
        case .source(let paths):
            guard let path = paths[offer.transferID] else { throw StagingError.io("no source for transfer \(offer.transferID)", ENOENT) }
            return (path, true)
        case .node(let directory, let jobID):
            switch offer.target {
            case .job(_, let path):
                return (Self.jobDirectory(directory, jobID) + "/" + path, false)
            case .image(let imageID, let artifact, _):
                let installed = directory + "/images/" + imageID
                if FileManager.default.fileExists(atPath: installed + "/manifest.json"), verifiedImage(installed, id: imageID) {
                    return (installed + "/" + artifact, true)
                }
                return (directory + "/tmp/stage-\(jobID)-\(imageID)/" + artifact, false)
            }
        }
    }

    private func write(_ id: UInt64, _ offset: UInt64, _ data: ByteBuffer) -> StagingEvent {
        guard let handle = handles[id] else { return .failed(transferID: id, message: "transfer \(id) is not open") }
        if let direct = handle.direct {
            switch data.withUnsafeReadableBytes({ direct.write($0, at: offset) }) {
            case .written:
                return .written(transferID: id, offset: offset, length: data.readableBytes)
            case .notApplicable:
                break
            case .failed(EINVAL):
                handles[id]?.direct = nil  // no direct I/O here after all: every write goes the ordinary way
            case .failed(let code):
                return .failed(transferID: id, message: "\(handle.partial ?? handle.final): write at offset \(offset): \(String(cString: strerror(code)))")
            }
        }
        if let failure = data.withUnsafeReadableBytes({ Self.writeAll(handle.fd, $0, at: offset) }) {
            return .failed(transferID: id, message: "\(handle.partial ?? handle.final): write at offset \(offset): \(String(cString: strerror(failure)))")
        }
        return .written(transferID: id, offset: offset, length: data.readableBytes)
    }

    /// Reads a chunk; `chained`: with its checksum if the file is complete.
    private func read(_ id: UInt64, _ offset: UInt64, _ length: Int, chained: Bool) -> StagingEvent {
        guard let handle = handles[id] else { return .failed(transferID: id, message: "transfer \(id) is not open") }
        var buffer = allocator.buffer(capacity: length)
        var failure: Int32?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { target in
            var done = 0
            while done < length {
                let count = pread(handle.fd, target.baseAddress! + done, length - done, off_t(offset) + off_t(done))
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { failure = count < 0 ? errno : EIO; break }
                done += count
            }
            return done
        }
        if let failure {
            return .failed(transferID: id, message: "\(handle.partial ?? handle.final): read at offset \(offset): \(String(cString: strerror(failure)))")
        }
        guard chained, handle.completeWhenOpened else { return .read(transferID: id, offset: offset, data: buffer, checksum: nil) }
        do {
            let checksum = try checksum(id, offset: offset, data: buffer)
            return .read(transferID: id, offset: offset, data: buffer, checksum: checksum)
        } catch StagingError.message(let described) {
            return .failed(transferID: id, message: described)
        } catch {
            return .failed(transferID: id, message: "\(handle.final): \(error)")
        }
    }

    /// The checksum of the chunk at `offset` of a complete file (see ``ChunkChain``), `data` being its bytes.
    private func checksum(_ id: UInt64, offset: UInt64, data: ByteBuffer) throws -> ChunkChecksum {
        if let known = checksums[id]?[offset] { return known }
        guard let offer = handles[id]?.offer else { throw StagingError.io("transfer \(id) is not open", EBADF) }
        // Hash forward from where the chain stands to this chunk (reads normally come in order: nothing to do).
        while chains[id, default: ChunkChain()].position < offset {
            let position = chains[id, default: ChunkChain()].position
            switch read(id, position, offer.chunkLength(at: position), chained: false) {
            case .read(_, _, let bytes, _): try absorb(id, offer, at: position, bytes)
            case .failed(_, let message): throw StagingError.message(message)
            default: throw StagingError.io("read at offset \(position)", EIO)
            }
        }
        try absorb(id, offer, at: offset, data)
        return checksums[id]![offset]!
    }

    /// Adds the chunk at `offset`, which must be where the chain stands, to a complete file's chain.
    private func absorb(_ id: UInt64, _ offer: StagingOffer, at offset: UInt64, _ bytes: ByteBuffer) throws {
        let chain = chains[id, default: ChunkChain()]
        guard offset == chain.position else {
            throw StagingError.io("chunk at offset \(offset) is not where the checksum chain stands (\(chain.position))", EINVAL)
        }
        let isLast = offset + UInt64(bytes.readableBytes) == offer.size
        let checksum: ChunkChecksum = try bytes.withUnsafeReadableBytes { raw in
            if isLast { return chain.finishing(raw) }
            guard let (checksum, next) = chain.absorbing(raw) else {
                throw StagingError.io("chunk of \(raw.count) bytes is not a multiple of \(ChunkChain.blockSize)", EINVAL)
            }
            chains[id] = next
            return checksum
        }
        checksums[id, default: [:]][offset] = checksum
    }

    private func commit(_ id: UInt64) -> StagingEvent {
        guard var handle = handles[id], let partial = handle.partial else {
            return .failed(transferID: id, message: "transfer \(id) is not open")
        }
        if fchmod(handle.fd, handle.offer.fileMode) != 0 {
            return .failed(transferID: id, message: "\(partial): chmod: \(String(cString: strerror(errno)))")
        }
        if durable, fsync(handle.fd) != 0 {
            return .failed(transferID: id, message: "\(partial): fsync: \(String(cString: strerror(errno)))")
        }
        guard rename(partial, handle.final) == 0 else {
            return .failed(transferID: id, message: "rename \(partial) → \(handle.final): \(String(cString: strerror(errno)))")
        }
        handle.partial = nil
        handle.direct = nil
        // Keep reading it (to feed children) through a read-only descriptor: a file open for writing cannot
        // be executed (ETXTBSY), and a staged program must be.
        let readOnly = Glibc.open(handle.final, O_RDONLY | O_CLOEXEC)
        if readOnly >= 0 {
            Glibc.close(handle.fd)
            handle.fd = readOnly
        }
        handles[id] = handle
        var path = handle.final
        if case .image(let imageID, let artifact, let count) = handle.offer.target, case .node(let directory, _) = role {
            imageCommits[imageID, default: 0] += 1
            let installed = directory + "/images/" + imageID
            if imageCommits[imageID] == count {
                let temp = (handle.final as NSString).deletingLastPathComponent
                try? FileManager.default.createDirectory(atPath: directory + "/images", withIntermediateDirectories: true)
                if rename(temp, installed) != 0 { try? FileManager.default.removeItem(atPath: temp) }  // a concurrent job won
            }
            path = installed + "/" + artifact
        }
        noteCommitted(handle.offer, path)
        return .committed(transferID: id, path: path)
    }

    /// Whether the node's copy of an image is intact: every artifact its manifest lists has the manifest's
    /// SHA-256 (checked once per image and job). A copy that is not is removed, so it is staged again.
    private func verifiedImage(_ installed: String, id: String) -> Bool {
        if verifiedImages.contains(id) { return true }
        let intact = Self.imageIsIntact(installed)
        if !intact, case .node(let directory, let jobID) = role {
            // Out of the way at once (a concurrent job sees no copy rather than a half-removed one), then removed.
            let aside = directory + "/tmp/corrupt-\(jobID)-\(id)"
            try? FileManager.default.createDirectory(atPath: directory + "/tmp", withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: rename(installed, aside) == 0 ? aside : installed)
        }
        // Only a good verdict is kept: a corrupt copy was removed, and the one staged in its place is new.
        if intact { verifiedImages.insert(id) }
        return intact
    }

    /// Every `{path, sha256}` artifact of the manifest in `directory` has that digest.
    static func imageIsIntact(_ directory: String) -> Bool {
        guard let data = FileManager.default.contents(atPath: directory + "/manifest.json"),
              let manifest = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return false }
        let artifacts = manifest.values.compactMap { $0 as? [String: Any] }.compactMap { entry -> (String, String)? in
            guard let path = entry["path"] as? String, let sha = entry["sha256"] as? String else { return nil }
            return (path, sha)
        }
        guard !artifacts.isEmpty else { return false }
        for (path, sha) in artifacts {
            guard !path.contains("/"), let digest = fileDigest(directory + "/" + path), digest == sha.lowercased() else { return false }
        }
        return true
    }

    /// The lowercase hex SHA-256 of the file at `path`, or nil if it cannot be read.
    static func fileDigest(_ path: String) -> String? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var digest = ContentDigest()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return nil }
            if count == 0 { return digest.hex() }
            digest.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// The directory under which `offer`'s directories are the job user's alone (0700): the job's
    /// `staged/<job>`, or the node's `tmp` for an image being assembled.
    private func privateRoot(of offer: StagingOffer) -> String {
        guard case .node(let directory, let jobID) = role else { return "/" }
        switch offer.target {
        case .job: return Self.jobDirectory(directory, jobID)
        case .image: return directory + "/tmp"
        }
    }

    /// `mkdir -p directory`, every directory it creates from `root` down (and `root` itself) mode 0700 and
    /// checked to be this user's; a symlink or another user's directory on the way is an error.
    static func makePrivateDirectories(_ directory: String, below root: String) throws {
        let parent = (root as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        } catch {
            throw StagingError.io("cannot create directory \(parent)", ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError).map { Int32($0.code) } ?? EACCES)
        }
        var path = ""
        let components = directory.split(separator: "/", omittingEmptySubsequences: true)
        for component in components {
            path += "/" + component
            if path.count < root.count { continue }  // above the private root: left as it is
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw StagingError.io("cannot create directory \(path)", errno)
            }
            var info = stat()
            guard lstat(path, &info) == 0 else { throw StagingError.io("cannot create directory \(path)", errno) }
            guard info.st_mode & S_IFMT == S_IFDIR, info.st_uid == geteuid() else {
                throw StagingError.io("\(path) is not a directory of this user", EPERM)
            }
            if info.st_mode & 0o077 != 0, chmod(path, 0o700) != 0 {
                throw StagingError.io("cannot make \(path) private", errno)
            }
        }
    }

    private func noteCommitted(_ offer: StagingOffer, _ path: String) {
        if case .job(let index, _) = offer.target { committed.withLockedValue { $0[index] = path } }
    }
}

extension StagingFiles {
    /// `pwrite` of all of `bytes` at `offset` (retrying short writes and EINTR); the `errno` if it failed.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64) -> Int32? {
        var done = 0
        while done < bytes.count {
            let count = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return count < 0 ? errno : EIO }
            done += count
        }
        return nil
    }
}

/// A staging file operation that failed, with the OS error.
enum StagingError: Error, CustomStringConvertible {
    case io(String, Int32)
    /// A failure already described (by a nested read).
    case message(String)

    var description: String {
        switch self {
        case .io(let what, let code): return "\(what): \(String(cString: strerror(code)))"
        case .message(let text): return text
        }
    }
}
