import Foundation
import Testing
@testable import V2M
import VSE

@Suite("VM records")
struct VMRecordTests {
    @Test("a recorded active state whose process is gone is crashed (or stopped if a stop was under way)",
          arguments: [(VMState.running, VMState.crashed), (.paused, .crashed), (.starting, .crashed), (.stopping, .stopped),
                      (.stopped, .stopped), (.crashed, .crashed), (.defined, .defined)])
    func reconcileDead(recorded: VMState, expected: VMState) {
        #expect(VMRecord.reconcile(recorded: recorded, processAlive: false) == expected)
    }

    @Test("a live process keeps the recorded state", arguments: VMState.allCases)
    func reconcileAlive(recorded: VMState) {
        #expect(VMRecord.reconcile(recorded: recorded, processAlive: true) == recorded)
    }

    @Test("records round-trip through the state directory; a dead pid never reads as running")
    func store() throws {
        let root = NSTemporaryDirectory() + "v2m-records-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let store = VMRecordStore(state: StateDirectory(root: root))
        // A pid that cannot exist (above pid_max).
        let record = VMRecord(name: "r1", hypervisor: .qemu, accelerator: .tcg, profile: Fixtures.profile(),
                              runtime: VMRuntimeInfo(pid: 99_999_999), recordedState: .running)
        try store.save(record)
        let loaded = try store.load("r1")
        #expect(loaded.name == "r1")
        #expect(loaded.profile == record.profile)
        #expect(loaded.effectiveState == .crashed)
        #expect(store.list().map(\.name) == ["r1"])
        store.remove("r1")
        #expect(throws: V2MError.unknownVM("r1")) { try store.load("r1") }
    }
}

@Suite("Hypervisor selection")
struct HypervisorSelectorTests {
    @Test("auto never picks the simulated plug-in; with nothing real usable it says why")
    func autoWithNothing() async throws {
        let selector = HypervisorSelector(state: StateDirectory(root: "/tmp/v2m-sel-\(getpid())"), accelerator: .tcg,
                                          locator: ExecutableLocator(searchPath: "/nonexistent"),
                                          libvirtURI: "qemu+unix:///system?socket=/nonexistent/libvirt-sock")
        do {
            _ = try await selector.select(.auto)
            Issue.record("expected no usable hypervisor")
        } catch let error as V2MError {
            #expect(error.description.contains("qemu-system-x86_64 not on PATH"))
            #expect(error.description.contains("xen"))
            #expect(error.description.contains("libvirtd not running"))
        }
        let (simulated, _) = try await selector.select(.specific(.simulated))
        #expect(simulated.kind == .simulated)
        #expect(!HypervisorKind.autoOrder.contains(.simulated))
    }

    @Test("xen and palacios are generated only: unavailable here, and start writes their files")
    func generatedOnly() async throws {
        #expect(await XenHypervisor(locator: ExecutableLocator(searchPath: "/nonexistent")).availability().usable == false)
        #expect(await PalaciosHypervisor(controlDevice: "/nonexistent/v3vee").availability().usable == false)
        let directory = NSTemporaryDirectory() + "v2m-xen-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var profile = Fixtures.profile()
        profile.runtimeDirectory = directory
        let vm = try XenHypervisor().define(profile)
        await #expect(throws: V2MError.self) { try await vm.start() }
        #expect(FileManager.default.fileExists(atPath: directory + "/xl.cfg"))
    }

    @Test("choice parsing")
    func parsing() {
        #expect(HypervisorChoice(argument: "auto") == .auto)
        #expect(HypervisorChoice(argument: "libvirt") == .specific(.libvirt))
        #expect(HypervisorChoice(argument: "vmware") == nil)
    }
}
