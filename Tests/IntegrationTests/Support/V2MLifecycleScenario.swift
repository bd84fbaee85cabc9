import Foundation
import Testing
import V2M
import VSE

/// The lifecycle test body shared by the qemu and libvirt plug-ins.
enum V2MLifecycleScenario {
    /// start → ready → pause (counter frozen) → resume (advances) → graceful stop → start → force stop.
    /// Returns the hypervisor process ids seen, for the "nothing left running" check.
    static func run(hypervisor: any Hypervisor, image: ImageEntry, state: StateDirectory, name: String) async throws -> [Int32] {
        var pids: [Int32] = []
        let profile = VMProfile(image: image, name: name, vcpus: 1, memoryBytes: 256 << 20,
                                runtimeDirectory: state.root + "/vms/" + name)
        let vm = try hypervisor.define(profile)
        try await vm.start()
        if let pid = vm.processID { pids.append(pid) }
        #expect(vm.currentState == .running)
        #expect(vm.guestInfo?.kernelRelease == image.manifest.kernelRelease)

        let first = try await vm.guestStatus().counter
        try await Task.sleep(for: .milliseconds(500))
        let second = try await vm.guestStatus().counter
        #expect(second > first, "counter advances while running (\(first) → \(second))")

        try await vm.pause()
        #expect(vm.currentState == .paused)
        // While paused the agent cannot answer; the counter is read after resume and must not have jumped.
        try await Task.sleep(for: .milliseconds(1500))
        try await vm.resume()
        let afterResume = try await vm.guestStatus().counter
        #expect(afterResume < second + 10, "counter frozen while paused (\(second) → \(afterResume) after 1.5 s paused)")
        try await Task.sleep(for: .milliseconds(500))
        let later = try await vm.guestStatus().counter
        #expect(later > afterResume, "counter advances after resume (\(afterResume) → \(later))")

        let graceful = try await vm.stop(timeout: .seconds(20))
        #expect(graceful, "guest powered off within the timeout")
        #expect(vm.currentState == .stopped)

        try await vm.start()
        if let pid = vm.processID { pids.append(pid) }
        #expect(vm.currentState == .running)
        try await vm.stop(force: true)
        #expect(vm.currentState == .stopped)
        return pids
    }
}
