import Foundation
import GuestProtocol
import Logging
import VSE
import Wire

/// Starts VMs from a saved, ready guest instead of booting a kernel each time (Firecracker-style).
///
/// The first VM of an image and machine shape on a node (or `vhpc vse build --snapshot`) boots a *template*
/// with no identity (no host name, address or job network settings; a throw-away secret), waits for its
/// guest agent, and saves it into the ``SnapshotStore`` (QEMU's migration stream to a file, through the
/// plug-in's ``SnapshotPlatform``). Later VMs start QEMU with `-incoming` from that file and their own fw_cfg
/// credentials carrying their ``GuestIdentity``; at the host's hello the guest agent sees the new credentials
/// and becomes that VM (CRNG reseeded from a fresh seed, clock set, host name, MAC, address) before it
/// answers, so no VM shares the template's secret, randomness, clock or network identity. An image with a
/// disk keeps the template's overlay beside the state; each restored VM's overlay is backed by it. A stale,
/// corrupt or unloadable snapshot costs one warning and a cold boot; a failed save never leaves an entry.
public struct SnapshotBoot: Sendable {
    /// Searched in order; new snapshots are saved into the first.
    public var stores: [SnapshotStore]
    /// How long a restore may take to reach `ready` before it is given up for a cold boot.
    public var restoreTimeout: Duration = .seconds(30)
    /// How long a VM waits for another one saving the same snapshot.
    public var lockTimeout: Duration = .seconds(300)

    public init(stores: [SnapshotStore]) {
        self.stores = stores
    }

    /// The oldest guest agent that takes on a restored identity.
    static let minimumAgentVersion = 2

    /// Boots `profile` of `image` under QEMU: from a snapshot when one is usable (saving one first when there
    /// is none), else cold. `credentials` (nil: a standalone secret) are written with `identity` for the guest.
    public func boot(image: ImageEntry, profile: VMProfile, credentials: GuestCredentials?, identity: GuestIdentity,
                     accelerator: Accelerator, timeout: Duration, locator: ExecutableLocator,
                     logger: Logger) async throws -> (machine: QEMUMachine, restored: Bool) {
        let platform = QEMUSnapshotPlatform(accelerator: accelerator, bootTimeout: timeout, locator: locator, logger: logger)
        let (machine, restored) = try await boot(on: platform, image: image, profile: profile, credentials: credentials,
                                                 identity: identity, logger: logger)
        return (machine, restored)
    }

    /// Boots `profile` of `image` through `platform`: from a snapshot when one is usable (saving one first
    /// when there is none), else cold.
    public func boot<Platform: SnapshotPlatform>(on platform: Platform, image: ImageEntry, profile: VMProfile,
                                                 credentials: GuestCredentials?, identity: GuestIdentity,
                                                 logger: Logger) async throws -> (started: Platform.Started, restored: Bool) {
        func cold() async throws -> (started: Platform.Started, restored: Bool) {
            try write(credentials, identity: identity, profile: profile)
            return (try await platform.bootCold(profile), false)
        }
        guard !stores.isEmpty else { return try await cold() }
        let key: SnapshotKey
        do {
            key = try await platform.key(for: profile)
        } catch {
            return try await cold()
        }
        var entry: SnapshotStore.Entry?
        switch find(key, logger: logger) {
        case .found(let found): entry = found
        case .unusable: return try await cold()
        case .absent:
            // One VM per key saves it; the node's others wait, then restore.
            guard let lock = await stores[0].lock(key: key.digest, timeout: lockTimeout) else { return try await cold() }
            defer { lock.release() }
            switch find(key, logger: logger) {
            case .found(let found): entry = found
            case .unusable: return try await cold()
            case .absent:
                do {
                    entry = try await saveTemplate(on: platform, image: image, like: profile, key: key, into: stores[0], logger: logger)
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    logger.warning("VM \(profile.name): no snapshot of image \(image.manifest.name) saved (\(error)); booting cold")
                    return try await cold()
                }
            }
        }
        guard let entry else { return try await cold() }
        do {
            try write(credentials, identity: identity, profile: profile)
            var restoring = profile
            // The restored guest's disk is the template's as saved: its overlay is backed by the entry's.
            if var disk = restoring.disk, entry.meta.diskBytes != nil {
                disk.basePath = entry.diskPath
                disk.baseFormat = "qcow2"
                restoring.disk = disk
            }
            return (try await platform.restore(restoring, from: entry, timeout: restoreTimeout), true)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            logger.warning("VM \(profile.name): snapshot \(entry.directory) did not restore (\(error)); removed it, booting cold")
            for store in stores where entry.directory.hasPrefix(store.directory + "/") { store.remove(key: key.digest) }
            return try await cold()
        }
    }

    /// Saves a snapshot of `image` for VMs shaped like `profile` into the first store unless one is there
    /// (`vhpc vse build --snapshot`, bench warm-up). Returns the entry. `templateCredentials` (default: a
    /// secret nobody keeps) are what the template's guest answers before it is saved; tests pass known ones.
    public func prepare(image: ImageEntry, like profile: VMProfile, accelerator: Accelerator, locator: ExecutableLocator,
                        templateCredentials: GuestCredentials? = nil, logger: Logger) async throws -> SnapshotStore.Entry {
        try await prepare(on: QEMUSnapshotPlatform(accelerator: accelerator, bootTimeout: .seconds(300), locator: locator, logger: logger),
                          image: image, like: profile, templateCredentials: templateCredentials, logger: logger)
    }

    /// ``prepare(image:like:accelerator:locator:templateCredentials:logger:)`` through any plug-in's platform.
    public func prepare<Platform: SnapshotPlatform>(on platform: Platform, image: ImageEntry, like profile: VMProfile,
                                                    templateCredentials: GuestCredentials? = nil,
                                                    logger: Logger) async throws -> SnapshotStore.Entry {
        let key = try await platform.key(for: profile)
        if case .found(let entry) = find(key, logger: logger) { return entry }
        guard let store = stores.first, let lock = await store.lock(key: key.digest, timeout: lockTimeout) else {
            throw V2MError.migrationFailed(vm: profile.name, reason: "cannot take the snapshot cache's lock")
        }
        defer { lock.release() }
        if case .found(let entry) = store.lookup(key.meta) { return entry }
        return try await saveTemplate(on: platform, image: image, like: profile, key: key, into: store,
                                      credentials: templateCredentials, logger: logger)
    }

    /// The first usable entry; an unusable one is removed with one warning.
    private func find(_ key: SnapshotKey, logger: Logger) -> SnapshotStore.Lookup {
        for store in stores {
            switch store.lookup(key.meta) {
            case .absent: continue
            case .found(let entry): return .found(entry)
            case .unusable(let path, let reason):
                logger.warning("snapshot \(path) not used: \(reason); booting cold (removed; the next VM saves a new one)")
                store.remove(key: key.digest)
                return .unusable(path: path, reason: reason)
            }
        }
        return .absent
    }

    /// Writes the VM's credentials file with `identity`, a fresh seed and the host's clock.
    private func write(_ credentials: GuestCredentials?, identity: GuestIdentity, profile: VMProfile) throws {
        try FileManager.default.createDirectory(atPath: profile.runtimeDirectory, withIntermediateDirectories: true)
        var credentials = credentials ?? .standalone(vmName: profile.name)
        var identity = identity
        identity.seed = JobSecret.generate().hexEncoded
        identity.unixMilliseconds = UInt64(Date().timeIntervalSince1970 * 1000)
        credentials.identity = identity
        try GuestCredentialsFile.write(credentials, to: profile.guestChannel.credentialsPath)
    }

    /// Keeps a stopped template's disk overlay as `staging/disk.qcow2` (a hard link, else a copy), before the
    /// template's end removes its own; the platform calls it between saving and ending the template.
    public static func keepDisk(of template: VMProfile, in staging: String) throws {
        guard let disk = template.disk else { return }
        let kept = staging + "/disk.qcow2"
        if link(disk.overlayPath, kept) != 0 {
            guard errno == EXDEV else {
                throw V2MError.migrationFailed(vm: template.name, reason: "cannot keep the disk overlay \(disk.overlayPath): \(String(cString: strerror(errno)))")
            }
            try FileManager.default.copyItem(atPath: disk.overlayPath, toPath: kept)
        }
    }

    /// Boots a template like `profile` (same shape; no identity; NICs on unconnected sockets), waits for its
    /// guest agent, saves it, and publishes the entry.
    private func saveTemplate<Platform: SnapshotPlatform>(on platform: Platform, image: ImageEntry, like profile: VMProfile,
                                                          key: SnapshotKey, into store: SnapshotStore,
                                                          credentials: GuestCredentials? = nil,
                                                          logger: Logger) async throws -> SnapshotStore.Entry {
        let name = RuntimeDirectory.uniqueName(prefix: "tmpl")
        let parent = (profile.runtimeDirectory as NSString).deletingLastPathComponent
        let directory = try RuntimeDirectory.make(name: name, preferredParent: parent)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let nics = profile.nics.indices.map { index in
            VMNIC(mac: VMNIC.mac(for: name, index: index),
                  network: .unixDatagram(vmPath: directory + "/n\(index).sock", switchPath: directory + "/none\(index).sock"))
        }
        let template = VMProfile(image: image, name: name, vcpus: profile.vcpus, memoryBytes: profile.memoryBytes,
                                 runtimeDirectory: directory, nics: nics)
        let staging = try store.makeStaging()
        // A secret nobody keeps: the template's guest answers no host after it is saved.
        var templateCredentials = credentials ?? GuestCredentials(jobID: "snapshot-template", rank: 0, secret: .generate())
        templateCredentials.identity = GuestIdentity(hostname: "")
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try GuestCredentialsFile.write(templateCredentials, to: template.guestChannel.credentialsPath)
            try await platform.saveTemplate(template, into: staging) { info in
                guard let version = Int(info.agentVersion), version >= Self.minimumAgentVersion else {
                    throw V2MError.invalidProfile("image \(image.manifest.name)'s guest agent (version \(info.agentVersion)) cannot take on a restored VM's identity; rebuild the image")
                }
            }
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        var meta = key.meta
        meta.diskBase = template.disk?.basePath
        let entry = try store.commit(staging: staging, meta: meta)
        logger.info("snapshot saved", metadata: ["image": "\(image.manifest.name)", "shape": "\(key.shape)",
                                                 "bytes": "\(entry.meta.stateBytes)", "seconds": "\((clock.now - started).seconds)"])
        return entry
    }
}
