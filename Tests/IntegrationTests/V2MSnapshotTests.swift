import Foundation
import GuestProtocol
import Logging
import Synchronization
import Testing
import V2M
import VSE
import Wire

/// Snapshot start under real QEMU (TCG): VMs restored from one saved template each hold their own secret,
/// identity and CRNG state, the template's key opens no restored guest, and stale, foreign or truncated
/// snapshots cost a cold boot and one warning.
@Suite("V2M snapshots", .serialized)
struct V2MSnapshotTests {
    /// `tiny` built with this build's guest agent (one that takes on a restored identity).
    static func image() throws -> ImageEntry {
        let built = try CLI.run(["vse", "build", "-q", "examples/tiny.yaml"])
        try #require(built.status == 0, "vse build: \(built.stderr)")
        return try ImageStore(state: StateDirectory(root: CLI.stateDirectory)).resolve(built.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A NIC like a job VM's (its switch socket need not exist: nothing is sent).
    static func nic(_ state: StateDirectory, _ tag: String) -> VMNIC {
        VMNIC(mac: "52:56:00:00:00:99", network: .unixDatagram(vmPath: state.tmp + "/\(tag).vm", switchPath: state.tmp + "/\(tag).sw"))
    }

    static func options(_ state: StateDirectory, rank: Int, job: String = "job-snap") -> QuickBoot.Options {
        var options = QuickBoot.Options()
        options.state = state
        options.snapshots = [SnapshotStore(state: state)]
        options.nics = [nic(state, "r\(rank)")]
        options.credentials = GuestCredentials(jobID: job, rank: UInt32(rank), secret: .generate())
        options.identity = GuestIdentity(hostname: "tiny-r\(rank)", address: "10.77.0.\(rank + 1)/16",
                                         mac: "52:56:12:34:00:0\(rank)", hosts: "tiny-r0=10.77.0.1,tiny-r1=10.77.0.2")
        options.kernelArguments = ["vhpc.hostname=tiny-r\(rank)"]  // what a cold boot reads
        return options
    }

    /// Runs `script` in a VM; returns its stdout and the result.
    static func run(_ image: ImageEntry, _ script: String, options: QuickBoot.Options, logger: Logger = Logger(label: "test"))
        async throws -> (String, QuickBootResult) {
        let out = Mutex<[UInt8]>([])
        let result = try await QuickBoot.run(image: image, argv: ["sh", "-c", script], timeout: .seconds(120), accelerator: .tcg,
                                             options: options, onOutput: { stream, bytes in if stream == .stdout { out.withLock { $0 += bytes } } },
                                             logger: logger)
        return (String(decoding: out.withLock { $0 }, as: UTF8.self), result)
    }

    static let identityScript = """
        hostname; cat /sys/class/net/eth0/address; ip -4 addr show eth0 | grep -o 'inet [0-9./]*'
        grep secret= \(GuestCredentials.guestPath); head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n'; echo; date +%s
        """

    @Test("two VMs restored from one template hold their own keys, identities and randomness; the template's key opens neither")
    func restoredVMsAreDistinct() async throws {
        let image = try Self.image()
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        let template = GuestCredentials(jobID: "snapshot-template", rank: 0, secret: .generate())
        let like = VMProfile(image: image, name: "like", runtimeDirectory: state.tmp + "/like", nics: [Self.nic(state, "like")])
        let entry = try await SnapshotBoot(stores: [SnapshotStore(state: state)])
            .prepare(image: image, like: like, accelerator: .tcg, locator: ExecutableLocator(), templateCredentials: template,
                     logger: Logger(label: "test"))
        #expect(entry.meta.stateBytes > 0 && entry.meta.ramBytes == like.memoryBytes, "device state apart from the RAM file")

        var outputs: [String] = []
        for rank in 0..<2 {
            var options = Self.options(state, rank: rank)
            let refusal = Outcome()
            // While the command runs, a host end holding the template's key knocks on the guest.
            options.onBooted = { machine in
                Task {
                    let path = state.tmp + "/template-credentials-\(rank)"
                    try? GuestCredentialsFile.write(template, to: path)
                    do {
                        let channel = try await GuestChannel.connect(socketPath: machine.profile.guestChannel.socketPath, credentialsPath: path,
                                                                     vmName: "impostor", timeout: .seconds(10), handshakeTimeout: .seconds(20),
                                                                     logger: Logger(label: "test"))
                        do {
                            _ = try await channel.waitReady(timeout: .seconds(20))
                            refusal.set("accepted")
                        } catch {
                            refusal.set("\(error)")
                        }
                        await channel.close()
                    } catch {
                        refusal.set("\(error)")
                    }
                }
            }
            let (out, result) = try await Self.run(image, Self.identityScript + "; sleep 6", options: options)
            #expect(result.restored, "rank \(rank) was not restored from the snapshot")
            #expect(result.exitStatus == 0)
            let lines = out.split(separator: "\n").map(String.init)
            try #require(lines.count == 6, "\(out)")
            #expect(lines[0] == "tiny-r\(rank)" && result.guest.hostname == "tiny-r\(rank)")
            #expect(lines[1] == "52:56:12:34:00:0\(rank)")
            #expect(lines[2] == "inet 10.77.0.\(rank + 1)/16")
            #expect(lines[3] == "secret=\(options.credentials!.secret.hexEncoded)")
            #expect(abs((Int(lines[5]) ?? 0) - Int(Date().timeIntervalSince1970)) < 60, "guest clock not set: \(lines[5])")
            let why = refusal.value ?? "no answer"
            #expect(why != "accepted", "the template's key opened restored VM \(rank)")
            #expect(!why.isEmpty)
            outputs.append(out)
        }
        let a = outputs[0].split(separator: "\n"), b = outputs[1].split(separator: "\n")
        #expect(a[3] != b[3], "same secret")
        #expect(a[4] != b[4], "the restored guests' CRNGs give the same bytes: not reseeded")
        #expect(!outputs[0].contains(template.secret.hexEncoded) && !outputs[1].contains(template.secret.hexEncoded))
        #expect(V2MLeftovers.qemuProcesses(mentioning: state.root).isEmpty)
    }

    @Test("a snapshot from another QEMU, another machine shape, or truncated: a cold boot and one warning")
    func badSnapshotsBootCold() async throws {
        let image = try Self.image()
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        let store = SnapshotStore(state: state)
        let like = VMProfile(image: image, name: "like", runtimeDirectory: state.tmp + "/like", nics: [Self.nic(state, "like")])
        let boot = SnapshotBoot(stores: [store])
        let entry = try await boot.prepare(image: image, like: like, accelerator: .tcg, locator: ExecutableLocator(), logger: Logger(label: "test"))
        let saved = try Data(contentsOf: URL(fileURLWithPath: entry.statePath))
        let metaPath = entry.directory + "/meta.json"
        let meta = try String(contentsOfFile: metaPath, encoding: .utf8)

        func expectColdBoot(_ what: String, rank: Int, memory: UInt64? = nil) async throws {
            let warnings = CollectedWarnings()
            var options = Self.options(state, rank: rank)
            options.memoryBytes = memory
            let (out, result) = try await Self.run(image, "hostname", options: options,
                                                   logger: Logger(label: "test") { _ in warnings })
            #expect(!result.restored, "\(what): restored anyway")
            #expect(result.exitStatus == 0 && out == "tiny-r\(rank)\n", "\(what): \(out)")
            let lines = warnings.lines
            #expect(lines.count == 1, "\(what): warnings \(lines)")
            #expect(lines.first?.contains("snapshot") == true, "\(what): \(lines)")
        }

        // Saved by another QEMU.
        try meta.replacingOccurrences(of: "QEMU emulator version", with: "QEMU emulator version 6.0.0, not").write(toFile: metaPath, atomically: true, encoding: .utf8)
        try await expectColdBoot("another QEMU", rank: 0)
        #expect(store.lookup(entry.meta) == .absent, "the stale entry stays")

        // Truncated (the meta's size no longer matches).
        try FileManager.default.createDirectory(atPath: entry.directory, withIntermediateDirectories: true)
        try meta.write(toFile: metaPath, atomically: true, encoding: .utf8)
        try saved.prefix(saved.count / 2).write(to: URL(fileURLWithPath: entry.statePath))
        try await expectColdBoot("truncated", rank: 1)

        // Truncated behind a matching meta: QEMU refuses the stream.
        try FileManager.default.createDirectory(atPath: entry.directory, withIntermediateDirectories: true)
        try saved.prefix(saved.count / 2).write(to: URL(fileURLWithPath: entry.statePath))
        try meta.replacingOccurrences(of: "\"stateBytes\" : \(saved.count)", with: "\"stateBytes\" : \(saved.count / 2)")
            .write(toFile: metaPath, atomically: true, encoding: .utf8)
        try await expectColdBoot("truncated stream", rank: 0)

        // Another machine shape's state filed under this shape's key: QEMU refuses the RAM size.
        var bigger = like
        bigger.memoryBytes = like.memoryBytes + (64 << 20)
        let biggerKey = try await SnapshotKey(profile: bigger, accelerator: .tcg, locator: ExecutableLocator())
        let staging = try store.makeStaging()
        try saved.write(to: URL(fileURLWithPath: staging + "/state"))
        try store.commit(staging: staging, meta: biggerKey.meta)
        try await expectColdBoot("another shape", rank: 1, memory: bigger.memoryBytes)
        #expect(store.list().isEmpty, "unusable entries are removed: \(store.list().map(\.directory))")
        #expect(V2MLeftovers.qemuProcesses(mentioning: state.root).isEmpty)
    }
}

extension V2MSnapshotTests {
    @Test("a disk that fills up while the snapshot is saved: a cold boot, one warning, no cache entry and nothing half-written")
    func fullDiskWhileSaving() async throws {
        let image = try Self.image()
        // A 24 MiB tmpfs holds the VM's sockets and files but not a ~100 MiB saved guest.
        let root = "/tmp/v13-full-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let mounted = try CLI.run(program: "/bin/mount", ["-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", root])
        try #require(mounted.status == 0, "cannot mount a tmpfs (needs root): \(mounted.stderr)")
        defer { _ = try? CLI.run(program: "/bin/umount", ["-l", root]) }
        let state = StateDirectory(root: root)
        let warnings = CollectedWarnings()
        let (out, result) = try await Self.run(image, "hostname", options: Self.options(state, rank: 0),
                                               logger: Logger(label: "test") { _ in warnings })
        #expect(!result.restored && result.exitStatus == 0 && out == "tiny-r0\n", "\(out)")
        #expect(warnings.lines.count == 1 && warnings.lines.first?.contains("no snapshot") == true, "\(warnings.lines)")
        #expect(SnapshotStore(state: state).list().isEmpty)
        let left = ((try? FileManager.default.contentsOfDirectory(atPath: state.tmp)) ?? []).filter { !$0.hasSuffix(".vm") }  // the NIC socket is the test's
        #expect(left.isEmpty, "left in tmp: \(left)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: root + "/snapshots"))?.filter { !$0.hasPrefix(".") }.isEmpty ?? true)
    }
}

/// Warnings logged during one boot.
final class CollectedWarnings: LogHandler, @unchecked Sendable {
    private let collected = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning
    var lines: [String] { collected.withLock { $0 } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
             function: String, line: UInt) {
        if level >= .warning { collected.withLock { $0.append("\(message)") } }
    }
}

/// What the impostor's connection attempt came to.
final class Outcome: Sendable {
    private let state = Mutex<String?>(nil)
    var value: String? { state.withLock { $0 } }
    func set(_ text: String) { state.withLock { $0 = text } }
}
