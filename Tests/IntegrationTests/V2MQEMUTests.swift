import Foundation
import Logging
import Synchronization
import Testing
@testable import V2M
import VSE

@Suite("V2M qemu plug-in (real QEMU under TCG)", .serialized)
struct V2MQEMUTests {
    let hypervisor = QEMUHypervisor(accelerator: .tcg)

    @Test("lifecycle: start, pause/resume with the guest counter, graceful stop, restart, force stop")
    func lifecycle() async throws {
        let image = try #require(V2MTestImage.find())
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        let pids = try await V2MLifecycleScenario.run(hypervisor: hypervisor, image: image, state: state, name: "life")
        #expect(pids.count == 2)
        for pid in pids { #expect(!QEMUProcess.processExists(pid), "qemu \(pid) still running") }
        #expect(!FileManager.default.fileExists(atPath: state.root + "/vms/life/disk.qcow2"))
        #expect(V2MLeftovers.qemuProcesses(mentioning: state.root).isEmpty)
    }

    @Test("kill -9 of QEMU is reported as crashed within 1 s; overlay and sockets removed")
    func crash() async throws {
        let image = try #require(V2MTestImage.find())
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        let profile = VMProfile(image: image, name: "crashy", vcpus: 1, memoryBytes: 256 << 20,
                                runtimeDirectory: state.root + "/vms/crashy")
        let vm = try hypervisor.define(profile)
        let events = vm.events()
        try await vm.start()
        let pid = try #require(vm.processID)
        let killedAt = ContinuousClock.now
        kill(pid, SIGKILL)
        var crashReason: String?
        for await event in events {
            if case .crashed(_, let reason) = event { crashReason = reason; break }
        }
        let latency = ContinuousClock.now - killedAt
        #expect(crashReason?.contains("signal 9") == true, "reason: \(crashReason ?? "none")")
        #expect(latency < .seconds(1), "crash reported after \(latency)")
        #expect(vm.currentState == .crashed)
        try await Task.sleep(for: .milliseconds(300))
        let left = (try? FileManager.default.contentsOfDirectory(atPath: profile.runtimeDirectory)) ?? []
        #expect(left.isEmpty, "left behind: \(left)")
        #expect(V2MLeftovers.qemuProcesses(mentioning: state.root).isEmpty)
    }

    @Test("live migration to a new QEMU process: counter keeps increasing, old process gone")
    func migration() async throws {
        let image = try #require(V2MTestImage.find())
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        let profile = VMProfile(image: image, name: "mover", vcpus: 1, memoryBytes: 256 << 20,
                                runtimeDirectory: state.root + "/vms/mover")
        let vm = try hypervisor.define(profile)
        try await vm.start()
        let oldPID = try #require(vm.processID)
        try await Task.sleep(for: .milliseconds(500))
        let before = try await vm.guestStatus()
        try await vm.migrate()
        let newPID = try #require(vm.processID)
        #expect(newPID != oldPID)
        #expect(!QEMUProcess.processExists(oldPID), "old QEMU still running")
        let after = try await vm.guestStatus()
        #expect(after.counter >= before.counter, "counter continued (\(before.counter) → \(after.counter))")
        #expect(after.uptimeMilliseconds >= before.uptimeMilliseconds, "no reboot")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await vm.guestStatus().counter > after.counter)
        #expect(vm.currentState == .running)
        let status = try await vm.exec(["true"], onOutput: { _, _ in })
        #expect(status == 0)
        try await vm.stop()
        #expect(!QEMUProcess.processExists(newPID))
        #expect(V2MLeftovers.qemuProcesses(mentioning: state.root).isEmpty)
    }

    @Test("illegal operations are refused before QEMU is touched")
    func illegal() async throws {
        let image = try #require(V2MTestImage.find())
        let vm = try hypervisor.define(VMProfile(image: image, name: "never", runtimeDirectory: "/tmp/never-started"))
        await #expect(throws: V2MError.illegalTransition(vm: "never", from: .defined, operation: "pause")) { try await vm.pause() }
        await #expect(throws: V2MError.self) { try await vm.stop() }
    }
}
