import Testing
@testable import V2M

@Suite("Simulated hypervisor through the VM handle")
struct SimulatedHypervisorTests {
    func fastHypervisor() -> SimulatedHypervisor {
        var latencies = SimulatedHypervisor.Latencies()
        latencies.boot = .milliseconds(5)
        latencies.stop = .milliseconds(1)
        return SimulatedHypervisor(latencies: latencies)
    }

    @Test("lifecycle with events; counter stops while paused")
    func lifecycle() async throws {
        let hypervisor = fastHypervisor()
        let vm = try hypervisor.define(Fixtures.profile())
        #expect(vm.currentState == .defined)
        try await vm.start()
        #expect(vm.currentState == .running)
        #expect(vm.history.contains { if case .guestReady = $0 { true } else { false } })
        try await Task.sleep(for: .milliseconds(250))
        try await vm.pause()
        #expect(vm.currentState == .paused)
        let frozen = try await vm.guestStatus().counter
        try await Task.sleep(for: .milliseconds(250))
        #expect(try await vm.guestStatus().counter == frozen)
        await #expect(throws: V2MError.self) { try await vm.pause() }
        try await vm.resume()
        try await Task.sleep(for: .milliseconds(250))
        #expect(try await vm.guestStatus().counter > frozen)
        #expect(try await vm.stop())
        #expect(vm.currentState == .stopped)
        #expect(vm.history.contains(.exited(vm: vm.name)))
        try await vm.start()
        try await vm.stop(force: true)
        #expect(vm.currentState == .stopped)
    }

    @Test("a crash reaches the event stream with its reason")
    func crash() async throws {
        let hypervisor = fastHypervisor()
        let vm = try hypervisor.define(Fixtures.profile())
        let events = vm.events()
        try await vm.start()
        hypervisor.crash(vm: vm.name, reason: "killed by signal 9")
        var sawCrash = false
        for await event in events {
            if event == .crashed(vm: vm.name, reason: "killed by signal 9") { sawCrash = true; break }
        }
        #expect(sawCrash)
        #expect(vm.currentState == .crashed)
        await #expect(throws: V2MError.self) { try await vm.resume() }
    }

    @Test("injected faults surface as errors; a failed start is a crash")
    func faults() async throws {
        let hypervisor = fastHypervisor()
        hypervisor.inject(.start, vm: "job7-n0-1")
        let vm = try hypervisor.define(Fixtures.profile())
        await #expect(throws: V2MError.injectedFault(vm: "job7-n0-1", operation: "start")) { try await vm.start() }
        #expect(vm.currentState == .crashed)
        hypervisor.clearFaults()
        try await vm.start()
        hypervisor.inject(.pause)
        await #expect(throws: V2MError.self) { try await vm.pause() }
        #expect(vm.currentState == .running)
    }

    @Test("exec runs through the handle only while running")
    func exec() async throws {
        let vm = try fastHypervisor().define(Fixtures.profile())
        await #expect(throws: V2MError.self) { _ = try await vm.exec(["true"], onOutput: { _, _ in }) }
        try await vm.start()
        #expect(try await vm.exec(["exit", "3"], onOutput: { _, _ in }) == 3)
    }

    @Test("a thousand simulated VMs start and stop concurrently")
    func scale() async throws {
        let hypervisor = fastHypervisor()
        let vms = try (0..<1000).map { i in
            var p = Fixtures.profile()
            p.name = "sim-\(i)"
            return try hypervisor.define(p)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for vm in vms { group.addTask { try await vm.start() } }
            try await group.waitForAll()
        }
        #expect(vms.allSatisfy { $0.currentState == .running })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for vm in vms { group.addTask { try await vm.stop() } }
            try await group.waitForAll()
        }
        #expect(vms.allSatisfy { $0.currentState == .stopped })
    }
}

@Suite("Node VM set (simulated)")
struct NodeVMSetTests {
    @Test("plan K VMs for a node, start all, exec in each, stop all")
    func roundTrip() async throws {
        let set = try NodeVMSet.plan(hypervisor: SimulatedHypervisor(), image: Fixtures.image(disk: true),
                                     node: NodeAllocation(hostname: "n", cores: 4, memoryBytes: 4 << 30),
                                     nodeIndex: 0, layout: .vmsPerNode(4), jobID: "j", runtimeParent: "/tmp/none")
        try await set.startAll()
        #expect(set.vms.allSatisfy { $0.currentState == .running })
        let statuses = try await set.execAll(["exit", "2"], onOutput: { _, _, _ in })
        #expect(statuses == [2, 2, 2, 2])
        await set.stopAll()
        #expect(set.vms.allSatisfy { $0.currentState == .stopped })
    }

    @Test("one failed start stops the others and reports the error")
    func partialFailure() async throws {
        let hypervisor = SimulatedHypervisor()
        hypervisor.inject(.start, vm: "j-n0-2")
        let set = try NodeVMSet.plan(hypervisor: hypervisor, image: Fixtures.image(disk: false),
                                     node: NodeAllocation(hostname: "n", cores: 4, memoryBytes: 4 << 30),
                                     nodeIndex: 0, layout: .onePerCore, jobID: "j", runtimeParent: "/tmp/none")
        await #expect(throws: V2MError.injectedFault(vm: "j-n0-2", operation: "start")) { try await set.startAll() }
        #expect(set.vms.allSatisfy { !$0.currentState.isActive })
    }
}
