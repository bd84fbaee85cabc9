import Foundation
import Testing
@testable import V2M
import VSE

@Suite("V2M libvirt plug-in (real libvirtd, qemu:///system)", .serialized)
struct V2MLibvirtTests {
    @Test("lifecycle through libvirtd: same body as qemu")
    func lifecycle() async throws {
        try #require(V2MLibvirtd.ensureRunning(), "libvirtd not available")
        let image = try #require(V2MTestImage.find())
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        let hypervisor = LibvirtHypervisor(accelerator: .tcg)
        #expect(await hypervisor.availability().usable)
        let started = ContinuousClock.now
        let pids = try await V2MLifecycleScenario.run(hypervisor: hypervisor, image: image, state: state, name: "lv-life")
        print("libvirt lifecycle scenario took \(ContinuousClock.now - started)")
        for pid in pids { #expect(!QEMUProcess.processExists(pid)) }
        #expect(!V2MLibvirtd.vhpcDomains().contains("vhpc-lv-life"))
        #expect(V2MLeftovers.qemuProcesses(mentioning: state.root).isEmpty)
    }

    @Test("a domain destroyed behind vhpc's back (virsh destroy) is not shown running")
    func destroyedDomainIsNotRunning() async throws {
        try #require(V2MLibvirtd.ensureRunning(), "libvirtd not available")
        let image = try #require(V2MTestImage.find())
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        let hypervisor = LibvirtHypervisor(accelerator: .tcg)
        let vm = try hypervisor.define(VMProfile(image: image, name: "lv-gone", vcpus: 1, memoryBytes: 256 << 20,
                                                 runtimeDirectory: state.root + "/vms/lv-gone"))
        try await vm.start()
        let record = VMRecord(name: "lv-gone", hypervisor: .libvirt, accelerator: .tcg, profile: vm.profile,
                              runtime: vm.runtime, recordedState: vm.currentState)
        #expect(try await hypervisor.observedState(of: record) == .running)
        try await vm.pause()
        #expect(try await hypervisor.observedState(of: record) == .paused)
        let virsh = try CLI.run(program: "/usr/bin/virsh", ["-c", "qemu:///system", "destroy", "vhpc-lv-gone"])
        #expect(virsh.status == 0, "\(virsh.stderr)")
        let observed = try await hypervisor.observedState(of: record)
        #expect(observed != .running && observed != .paused, "\(observed)")
        _ = try? await vm.stop(force: true)
    }

    @Test("live migration to a second libvirtd on this host: counter keeps increasing, source QEMU gone")
    func migration() async throws {
        try #require(V2MLibvirtd.ensureRunning(), "libvirtd not available")
        let image = try #require(V2MTestImage.find())
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        let peer = try V2MLibvirtdPeer.start(in: state.root + "/peer")
        defer { #expect(peer.stop(), "peer libvirtd \(peer.pid) still running") }
        let domain = "vhpc-lv-mover"
        let vm = try LibvirtHypervisor(accelerator: .tcg).define(VMProfile(image: image, name: "lv-mover", vcpus: 1,
                                                                           memoryBytes: 256 << 20,
                                                                           runtimeDirectory: state.root + "/vms/lv-mover"))
        try await vm.start()
        let uuid = try await LibvirtConnection.open("qemu:///system").domainUUID(domain)
        do {
            try await Self.migrateAndStop(vm, to: peer)
        } catch {
            _ = try? await vm.stop(force: true)
            throw error
        }
        #expect(!V2MLibvirtd.vhpcDomains().contains(domain))
        #expect(!peer.vhpcDomains().contains(domain))
        #expect(LibvirtQEMUProcess.processes(withUUID: uuid).isEmpty, "a QEMU of the domain is still running")
        #expect(V2MLeftovers.qemuProcesses(mentioning: state.root).isEmpty)
    }

    /// Migrates a running VM to `peer`, checks the guest went on and the handle (and one adopted from its
    /// record, as `vhpc vm` does) controls it there, then stops it gracefully.
    static func migrateAndStop(_ vm: VirtualMachine, to peer: V2MLibvirtdPeer) async throws {
        let domain = "vhpc-" + vm.name
        let oldPID = try #require(vm.processID)
        let oldSocket = vm.runtime?.guestSocket
        try await Task.sleep(for: .milliseconds(500))
        let before = try await vm.guestStatus()
        let started = ContinuousClock.now
        try await vm.migrate(to: peer.uri)
        print("libvirt live migration to the peer daemon took \(ContinuousClock.now - started)")
        let newPID = try #require(vm.processID)
        #expect(newPID != oldPID)
        #expect(!QEMUProcess.processExists(oldPID), "source QEMU \(oldPID) still running")
        #expect(!V2MLibvirtd.vhpcDomains().contains(domain), "domain still on the source daemon")
        #expect(peer.vhpcDomains().contains(domain), "domain not on the peer daemon")
        #expect(vm.runtime?.libvirtURI == peer.uri)
        #expect(vm.runtime?.guestSocket != oldSocket)
        let after = try await vm.guestStatus()
        #expect(after.counter > before.counter, "counter continued across the move (\(before.counter) → \(after.counter))")
        #expect(after.uptimeMilliseconds > before.uptimeMilliseconds, "no reboot")
        try await Task.sleep(for: .milliseconds(500))
        let later = try await vm.guestStatus().counter
        #expect(later > after.counter, "counter advances on the destination (\(after.counter) → \(later))")
        #expect(vm.currentState == .running)
        try await vm.pause()
        try await vm.resume()
        #expect(try await vm.exec(["true"], onOutput: { _, _ in }) == 0)

        // A later `vhpc vm` command adopts the VM from its record, whose runtime names the peer daemon. (The
        // guest channel stays with `vm`: QEMU serves one client at a time, so the adopted handle is driven
        // through libvirt only.)
        let record = VMRecord(name: vm.name, hypervisor: .libvirt, accelerator: .tcg, profile: vm.profile,
                              runtime: vm.runtime, recordedState: vm.currentState)
        let adopted = try LibvirtHypervisor(accelerator: .tcg, uri: "qemu:///system").adopt(record)
        #expect(adopted.processID == newPID)
        try await adopted.pause()
        try await adopted.resume()

        #expect(try await vm.stop(timeout: .seconds(20)), "guest powered off within the timeout")
        #expect(!QEMUProcess.processExists(newPID))
    }

    @Test("migration without a destination daemon is refused with an error naming --to")
    func migrationNeedsTarget() async throws {
        let profile = VMProfile(name: "lv-m", vcpus: 1, memoryBytes: 256 << 20, imageID: "none", imageName: "none",
                                kernelPath: "/nonexistent/vmlinuz", initrdPath: "/nonexistent/initrd.img", kernelCommandLine: "",
                                disk: nil, guestChannel: GuestChannelEndpoint(socketPath: "/tmp/lv-m-never/guest.sock"),
                                runtimeDirectory: "/tmp/lv-m-never")
        let backend = try LibvirtHypervisor(uri: "qemu+unix:///system?socket=/nonexistent/libvirt-sock").makeBackend(for: profile)
        do {
            try await backend.migrate(to: nil)
            Issue.record("migrate without a target succeeded")
        } catch let error as V2MError {
            #expect(error.description.contains("--to URI"), "\(error)")
            #expect(error.description.contains("destination"), "\(error)")
        }
    }
}
