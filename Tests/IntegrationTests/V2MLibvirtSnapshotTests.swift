import Foundation
import GuestProtocol
import Logging
import Synchronization
import Testing
@testable import V2M
import VSE

/// Snapshot start under the libvirt plug-in with the real libvirtd: VMs restored at once from one saved
/// template are domains of their own, each holding its own key, host name, MAC and address; a snapshot QEMU
/// refuses to load costs a cold boot and one warning; no domain or QEMU is left.
@Suite("V2M libvirt snapshots (real libvirtd)", .serialized)
struct V2MLibvirtSnapshotTests {
    @Test("two libvirt domains restored at once from one template hold their own keys and addresses; a truncated state boots cold")
    func restoredDomainsAreDistinct() async throws {
        try #require(V2MLibvirtd.ensureRunning(), "libvirtd not available")
        let image = try V2MSnapshotTests.image()
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        let store = SnapshotStore(state: state)
        let (hypervisor, log) = Self.snapshotHypervisor(image: image, store: store)
        let tag = "v18-\(getpid())"
        let hv = hypervisor

        /// Starts rank `rank`'s VM with its own credentials and identity, runs the identity script, stops it.
        @Sendable func run(_ rank: Int) async throws -> (output: String, secret: String) {
            let options = V2MSnapshotTests.options(state, rank: rank, job: "job-lv")
            var profile = VMProfile(image: image, name: "\(tag)-r\(rank)", runtimeDirectory: state.root + "/vms/r\(rank)",
                                    nics: [V2MSnapshotTests.nic(state, "r\(rank)")])
            profile.kernelCommandLine += " vhpc.hostname=tiny-r\(rank)"  // what a cold boot reads
            let vm = try hv.define(profile)
            var credentials = try #require(options.credentials)
            credentials.identity = options.identity
            try GuestCredentialsFile.write(credentials, to: profile.guestChannel.credentialsPath)
            do {
                try await vm.start()
                let out = Mutex<[UInt8]>([])
                let status = try await vm.exec(["sh", "-c", V2MSnapshotTests.identityScript], onOutput: { stream, bytes in
                    if stream == .stdout { out.withLock { $0 += bytes } }
                })
                #expect(status == 0)
                _ = try? await vm.stop(timeout: .seconds(20))
                return (String(decoding: out.withLock { $0 }, as: UTF8.self), credentials.secret.hexEncoded)
            } catch {
                _ = try? await vm.stop(force: true)
                throw error
            }
        }

        // Both start at once: one saves the template while the other waits, then both restore it.
        async let first = run(0)
        async let second = run(1)
        let results = try await [first, second]
        let started = log.lines.filter { $0.hasPrefix("VM started") }
        #expect(started.count == 2 && started.allSatisfy { $0.contains("from=snapshot") }, "\(started)")
        for (rank, result) in results.enumerated() {
            let lines = result.output.split(separator: "\n").map(String.init)
            try #require(lines.count == 6, "rank \(rank): \(result.output)")
            #expect(lines[0] == "tiny-r\(rank)")
            #expect(lines[1] == "52:56:12:34:00:0\(rank)")
            #expect(lines[2] == "inet 10.77.0.\(rank + 1)/16")
            #expect(lines[3] == "secret=\(result.secret)")
            #expect(abs((Int(lines[5]) ?? 0) - Int(Date().timeIntervalSince1970)) < 120, "guest clock not set: \(lines[5])")
        }
        let a = results[0].output.split(separator: "\n"), b = results[1].output.split(separator: "\n")
        #expect(a[3] != b[3], "same secret")
        #expect(a[4] != b[4], "the restored guests' CRNGs give the same bytes: not reseeded")
        let entry = try #require(store.list().first)
        #expect(entry.meta.shape.hasPrefix("q35 libvirt") && entry.meta.hypervisor.contains("libvirt"), "\(entry.meta)")
        #expect(log.warnings.isEmpty, "\(log.warnings)")

        // A state QEMU refuses (truncated behind a matching meta): one warning, a cold boot, the entry removed.
        let saved = try Data(contentsOf: URL(fileURLWithPath: entry.statePath))
        try saved.prefix(saved.count / 2).write(to: URL(fileURLWithPath: entry.statePath))
        let metaPath = entry.directory + "/meta.json"
        try String(contentsOfFile: metaPath, encoding: .utf8)
            .replacingOccurrences(of: "\"stateBytes\" : \(saved.count)", with: "\"stateBytes\" : \(saved.count / 2)")
            .write(toFile: metaPath, atomically: true, encoding: .utf8)
        let cold = try await run(2)
        #expect(cold.output.hasPrefix("tiny-r2\n"), "\(cold.output)")
        #expect(log.lines.last { $0.hasPrefix("VM started") }?.contains("from=cold boot") == true)
        #expect(log.warnings.count == 1 && log.warnings.first?.contains("did not restore") == true, "\(log.warnings)")
        #expect(store.list().isEmpty)

        #expect(!V2MLibvirtd.vhpcDomains().contains { $0.contains(tag) || $0.contains("tmpl-\(getpid())-") },
                "\(V2MLibvirtd.vhpcDomains())")
        #expect(V2MLeftovers.qemuProcesses(mentioning: state.root).isEmpty)
    }
}

/// Every message logged (with its metadata), and the warnings apart.
extension V2MLibvirtSnapshotTests {
    /// The libvirt plug-in with snapshot start from `store` for `image` (domains autodestroyed), and its log.
    static func snapshotHypervisor(image: ImageEntry, store: SnapshotStore) -> (LibvirtHypervisor, CollectedLog) {
        let log = CollectedLog()
        var hypervisor = LibvirtHypervisor(accelerator: .tcg, logger: Logger(label: "test") { _ in log })
        hypervisor.autoDestroy = true
        hypervisor.snapshotStart = SnapshotStart(boot: SnapshotBoot(stores: [store]), image: image)
        return (hypervisor, log)
    }
}

final class CollectedLog: LogHandler, @unchecked Sendable {
    private let collected = Mutex<[(Logger.Level, String)]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .debug
    var lines: [String] { collected.withLock { $0.map(\.1) } }
    var warnings: [String] { collected.withLock { $0.filter { $0.0 >= .warning }.map(\.1) } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
             function: String, line: UInt) {
        let words = (metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        collected.withLock { $0.append((level, words.isEmpty ? "\(message)" : "\(message) \(words)")) }
    }
}

extension V2MLibvirtSnapshotTests {
    @Test("libvirt: a disk that fills up while the template is saved: a cold boot, one warning, no entry, nothing half-written")
    func fullDiskWhileSaving() async throws {
        try #require(V2MLibvirtd.ensureRunning(), "libvirtd not available")
        let image = try V2MSnapshotTests.image()
        // A 32 MiB tmpfs holds the VM's sockets, logs and files but not the ~110 MiB stream of a saved guest.
        let root = "/tmp/v18-full-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let mounted = try CLI.run(program: "/bin/mount", ["-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", root])
        try #require(mounted.status == 0, "cannot mount a tmpfs (needs root): \(mounted.stderr)")
        defer { _ = try? CLI.run(program: "/bin/umount", ["-l", root]) }
        let state = StateDirectory(root: root)
        let (hypervisor, log) = Self.snapshotHypervisor(image: image, store: SnapshotStore(state: state))
        var profile = VMProfile(image: image, name: "v18-full-\(getpid())", runtimeDirectory: root + "/vms/r0")
        profile.kernelCommandLine += " vhpc.hostname=tiny-full"
        let vm = try hypervisor.define(profile)
        try GuestCredentialsFile.write(GuestCredentials(jobID: "job-full", rank: 0, secret: .generate(),
                                                        identity: GuestIdentity(hostname: "tiny-full")),
                                       to: profile.guestChannel.credentialsPath)
        do {
            try await vm.start()
            let out = Mutex<[UInt8]>([])
            #expect(try await vm.exec(["hostname"], onOutput: { _, bytes in out.withLock { $0 += bytes } }) == 0)
            #expect(String(decoding: out.withLock { $0 }, as: UTF8.self) == "tiny-full\n")
            _ = try? await vm.stop(timeout: .seconds(20))
        } catch {
            _ = try? await vm.stop(force: true)
            throw error
        }
        #expect(log.lines.last { $0.hasPrefix("VM started") }?.contains("from=cold boot") == true)
        #expect(log.warnings.count == 1 && log.warnings.first?.contains("no snapshot") == true, "\(log.warnings)")
        print("libvirt, full disk while saving: \(log.warnings.first ?? "no warning")")
        #expect(SnapshotStore(state: state).list().isEmpty)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: state.tmp)) ?? []).isEmpty, "left in tmp")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: root + "/snapshots"))?.filter { !$0.hasPrefix(".") }.isEmpty ?? true)
        #expect(!V2MLibvirtd.vhpcDomains().contains { $0.contains("tmpl-\(getpid())-") || $0.contains("v18-full") })
        #expect(V2MLeftovers.qemuProcesses(mentioning: root).isEmpty)
    }
}

extension V2MLibvirtSnapshotTests {
    @Test("libvirt, an image with a disk: restored domains' overlays are backed by the template's; each sees only its own writes")
    func restoredDomainsWithADisk() async throws {
        try #require(V2MLibvirtd.ensureRunning(), "libvirtd not available")
        let image = try V2MSnapshotTests.diskImage()
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        let store = SnapshotStore(state: state)
        let (hypervisor, log) = Self.snapshotHypervisor(image: image, store: store)
        let script = """
            cat /opt/hello.txt; grep -c ' / ext4 rw' /proc/mounts
            ls /mark-* 2>/dev/null || echo none; echo $(hostname) > /mark-$(hostname); sync; cat /mark-*
            echo errors=$(dmesg | grep -ci 'ext4.*error')
            """
        let hello = try String(contentsOfFile: CLI.repositoryRoot + "/examples/files/hello.txt", encoding: .utf8)
        var savedDisk: Data?
        for rank in 0..<3 {
            var profile = VMProfile(image: image, name: "v18-disk-\(getpid())-r\(rank)", runtimeDirectory: state.root + "/vms/r\(rank)")
            profile.kernelCommandLine += " vhpc.hostname=tiny-r\(rank)"
            let vm = try hypervisor.define(profile)
            try GuestCredentialsFile.write(GuestCredentials(jobID: "job-lvd", rank: UInt32(rank), secret: .generate(),
                                                            identity: GuestIdentity(hostname: "tiny-r\(rank)")),
                                           to: profile.guestChannel.credentialsPath)
            let out = Mutex<[UInt8]>([])
            do {
                try await vm.start()
                #expect(try await vm.exec(["sh", "-c", script], onOutput: { stream, bytes in
                    if stream == .stdout { out.withLock { $0 += bytes } }
                }) == 0)
                _ = try? await vm.stop(timeout: .seconds(20))
            } catch {
                _ = try? await vm.stop(force: true)
                throw error
            }
            let text = String(decoding: out.withLock { $0 }, as: UTF8.self)
            #expect(text == hello + "1\nnone\ntiny-r\(rank)\nerrors=0\n", "rank \(rank): \(text)")
            #expect(log.lines.last { $0.hasPrefix("VM started") }?.contains("from=snapshot") == true, "rank \(rank) booted cold")
            let entry = try #require(store.list().first)
            #expect(entry.meta.diskBytes != nil && entry.meta.diskBase == image.diskPath)
            let disk = try Data(contentsOf: URL(fileURLWithPath: entry.diskPath))
            if let savedDisk { #expect(disk == savedDisk, "a restored domain wrote to the template's overlay") }
            savedDisk = disk
        }
        #expect(log.warnings.isEmpty, "\(log.warnings)")
        #expect(!V2MLibvirtd.vhpcDomains().contains { $0.contains("v18-disk-\(getpid())") || $0.contains("tmpl-\(getpid())-") })
        #expect(V2MLeftovers.qemuProcesses(mentioning: state.root).isEmpty)
    }
}
