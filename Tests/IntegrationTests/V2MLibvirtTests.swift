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

    @Test("live migration on one host is refused with a clear error")
    func migrationRefused() async throws {
        let vm = try LibvirtHypervisor().define(VMProfile(image: try #require(V2MTestImage.find()), name: "lv-m",
                                                          runtimeDirectory: "/tmp/lv-m-never"))
        await #expect(throws: V2MError.self) { try await vm.migrate() }
    }
}
