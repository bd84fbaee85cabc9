import Foundation
import GuestCrypto
import GuestProtocol
import Testing
import VSE

/// A guest restored from a snapshot: its credentials file carries the VM's identity at a fixed size, and its
/// link end takes on the new credentials at the next host's hello, never answering the template's again.
/// The snapshot cache publishes whole entries only and rejects stale or truncated ones.
@Suite struct SnapshotIdentityTests {
    @Test func credentialsWithIdentityRoundTripAtAFixedSize() throws {
        let identity = GuestIdentity(hostname: "tiny-r3", address: "10.77.0.4/16", mac: "52:56:aa:bb:00:03",
                                     hosts: "tiny-r0=10.77.0.1,tiny-r3=10.77.0.4", seed: String(repeating: "ab", count: 32),
                                     unixMilliseconds: 1_800_000_000_123)
        let credentials = GuestCredentials(jobID: "job-1", rank: 3, secret: .generate(), identity: identity)
        #expect(credentials.fileContents.utf8.count == GuestCredentials.fileSize)
        #expect(GuestCredentials(jobID: "a-much-longer-job-id-0123456789", rank: 123_456, secret: .generate())
            .fileContents.utf8.count == GuestCredentials.fileSize)
        let parsed = try GuestCredentials(fileContents: credentials.fileContents)
        #expect(parsed.identity == identity && parsed.secret == credentials.secret && parsed.rank == 3)
        // Read through a larger size the guest kernel learned at boot: trailing NULs.
        let padded = try GuestCredentials(fileContents: credentials.fileContents + String(repeating: "\0", count: 100))
        #expect(padded.identity == identity)
        // A hosts table too long for the file is left out, the rest kept.
        var big = identity
        big.hosts = String(repeating: "x", count: 5000)
        let trimmed = try GuestCredentials(fileContents: GuestCredentials(jobID: "j", rank: 0, secret: .generate(), identity: big).fileContents)
        #expect(trimmed.identity?.hosts == "" && trimmed.identity?.hostname == "tiny-r3")
        #expect(identity.isSafe)
        #expect(!GuestIdentity(hostname: "x; reboot").isSafe)
        #expect(try GuestCredentials(fileContents: "job=j\nrank=1\nsecret=\(String(repeating: "00", count: 32))\n").identity == nil)
    }

    @Test func aRestoredGuestAnswersOnlyItsNewCredentials() throws {
        let template = GuestCredentials(jobID: "snapshot-template", rank: 0, secret: .generate())
        let vm = GuestCredentials(jobID: "job-5", rank: 2, secret: .generate(), identity: GuestIdentity(hostname: "tiny-r2"))
        var guest = GuestLinkEndpoint(credentials: template, crypto: OpenSSLWireCryptography())
        // The template's host connects (no change), then the guest is "restored": fw_cfg now holds the VM's.
        var fwcfg: GuestCredentials? = nil
        var asked = 0
        guest.onNewHost = { asked += 1; return fwcfg }
        var templateHost = GuestLinkTests.HostEnd(template)
        let challenge = GuestLinkTests.deliver(templateHost.start(), to: &guest)
        #expect(GuestLinkTests.deliver(try templateHost.receive(challenge.bytes).reply, to: &guest).events.contains(.established))
        fwcfg = vm
        // A host holding the template's secret is refused now.
        var stale = GuestLinkTests.HostEnd(template)
        let staleChallenge = GuestLinkTests.deliver(stale.start(), to: &guest)
        fwcfg = nil
        var events = staleChallenge.events
        if let reply = try? stale.receive(staleChallenge.bytes).reply { events += GuestLinkTests.deliver(reply, to: &guest).events }
        #expect(!guest.isEstablished && stale.session == nil)
        #expect(events.contains { if case .failed = $0 { true } else { false } }, "\(events)")
        #expect(guest.credentials.jobID == "job-5" && guest.credentials.identity?.hostname == "tiny-r2")
        // The VM's own host is answered.
        var own = GuestLinkTests.HostEnd(vm)
        let ownChallenge = GuestLinkTests.deliver(own.start(), to: &guest)
        #expect(GuestLinkTests.deliver(try own.receive(ownChallenge.bytes).reply, to: &guest).events.contains(.established))
        #expect(asked == 3, "asked once per new host's hello")
    }

    @Test func theSnapshotCachePublishesWholeEntriesAndRejectsStaleOrTruncatedOnes() throws {
        let root = "/tmp/v13-snapstore-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = SnapshotStore(state: StateDirectory(root: root))
        let expected = SnapshotStore.Meta(key: "k1", imageID: "img", shape: "vcpus=1 memory=256M", hypervisor: "QEMU 7.2.22")
        #expect(store.lookup(expected) == .absent)
        // A save that fails (disk full: QEMU reports it) publishes nothing and leaves no staging behind.
        let failed = try store.makeStaging()
        #expect(throws: SnapshotStoreError.self) { try store.commit(staging: failed, meta: expected) }
        #expect(!FileManager.default.fileExists(atPath: failed) && store.lookup(expected) == .absent)

        let staging = try store.makeStaging()
        try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: staging + "/state"))
        let entry = try store.commit(staging: staging, meta: expected)
        #expect(entry.meta.stateBytes == 1000 && !FileManager.default.fileExists(atPath: staging))
        #expect(store.lookup(expected) == .found(entry))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: root + "/tmp"))?.isEmpty ?? true)

        var otherQEMU = expected
        otherQEMU.hypervisor = "QEMU 8.2.0"
        guard case .unusable(_, let reason) = store.lookup(otherQEMU) else { Issue.record("accepted"); return }
        #expect(reason.contains("saved by QEMU 7.2.22") && reason.contains("QEMU 8.2.0"))
        var otherShape = expected
        otherShape.shape = "vcpus=2 memory=256M"
        guard case .unusable(_, let shapeReason) = store.lookup(otherShape) else { Issue.record("accepted"); return }
        #expect(shapeReason.contains("machine shape"))

        let handle = try #require(FileHandle(forWritingAtPath: entry.statePath))
        try handle.truncate(atOffset: 400)
        try handle.close()
        guard case .unusable(_, let truncated) = store.lookup(expected) else { Issue.record("accepted"); return }
        #expect(truncated.contains("400") && truncated.contains("1000"))
        #expect(store.remove(imageID: "img") > 0)
        #expect(store.lookup(expected) == .absent)
    }

    @Test func aSnapshotWithADiskKeepsItsOverlayAndRejectsATruncatedOneOrAMissingBase() throws {
        let root = "/tmp/v18-snapdisk-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = SnapshotStore(state: StateDirectory(root: root))
        let base = root + "/base.ext4"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try Data(repeating: 1, count: 64).write(to: URL(fileURLWithPath: base))
        var expected = SnapshotStore.Meta(key: "kd", imageID: "img", shape: "disk=yes", hypervisor: "QEMU 7.2.22")
        let staging = try store.makeStaging()
        try Data(repeating: 7, count: 100).write(to: URL(fileURLWithPath: staging + "/state"))
        try Data(repeating: 9, count: 300).write(to: URL(fileURLWithPath: staging + "/disk.qcow2"))
        expected.diskBase = base
        let entry = try store.commit(staging: staging, meta: expected)
        #expect(entry.meta.diskBytes == 300 && entry.meta.diskBase == base)
        #expect(store.lookup(expected) == .found(entry))

        let handle = try #require(FileHandle(forWritingAtPath: entry.diskPath))
        try handle.truncate(atOffset: 120)
        try handle.close()
        guard case .unusable(_, let truncated) = store.lookup(expected) else { Issue.record("accepted"); return }
        #expect(truncated.contains("disk overlay") && truncated.contains("120") && truncated.contains("300"))

        try Data(repeating: 9, count: 300).write(to: URL(fileURLWithPath: entry.diskPath))
        #expect(store.lookup(expected) == .found(entry))
        try FileManager.default.removeItem(atPath: base)
        guard case .unusable(_, let gone) = store.lookup(expected) else { Issue.record("accepted"); return }
        #expect(gone.contains(base) && gone.contains("gone"))
    }
}
