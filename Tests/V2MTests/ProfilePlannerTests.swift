import Testing
@testable import V2M

@Suite("Profile planner")
struct ProfilePlannerTests {
    let node = NodeAllocation(hostname: "node01", cores: 8, memoryBytes: 16 << 30, reservedMemoryBytes: 1 << 30)

    @Test("one VM per core: single-vCPU VMs sharing the usable memory evenly")
    func onePerCore() throws {
        let profiles = try ProfilePlanner().plan(image: Fixtures.image(disk: true), node: node, nodeIndex: 3,
                                                 layout: .onePerCore, jobID: "j1", runtimeParent: "/r")
        #expect(profiles.count == 8)
        #expect(profiles.allSatisfy { $0.vcpus == 1 && $0.memoryBytes == (15 << 30) / 8 })
        #expect(profiles.map(\.name) == (0..<8).map { "j1-n3-\($0)" })
        #expect(Set(profiles.compactMap { $0.disk?.overlayPath }).count == 8, "every VM gets its own overlay")
        #expect(profiles.allSatisfy { $0.disk?.basePath == Fixtures.imageDirectory + "/disk.qcow2" })
        #expect(profiles[2].guestChannel.socketPath == "/r/j1-n3-2/guest.sock")
    }

    @Test("K VMs per node split cores and memory", arguments: [(1, 8), (2, 4), (3, 2), (4, 2), (8, 1)])
    func perNode(k: Int, vcpus: Int) throws {
        let slots = try ProfilePlanner().slots(for: node, layout: .vmsPerNode(k))
        #expect(slots.count == k)
        #expect(slots.allSatisfy { $0.vcpus == vcpus })
        #expect(UInt64(k) * slots[0].memoryBytes <= 15 << 30)
        #expect(slots[0].memoryBytes % (1 << 20) == 0)
    }

    @Test("more VMs than cores is refused unless asked for")
    func oversubscribedCores() throws {
        #expect(throws: V2MError.self) { try ProfilePlanner().slots(for: node, layout: .vmsPerNode(9)) }
        let slots = try ProfilePlanner(oversubscribe: true).slots(for: node, layout: .vmsPerNode(9))
        #expect(slots.count == 9)
    }

    @Test("fixed sizes that exceed the node are refused")
    func oversubscribedFixed() {
        #expect(throws: V2MError.overSubscription("2 VMs × 4 vCPUs = 8 vCPUs on small, which has 4 cores")) {
            try ProfilePlanner(vcpusPerVM: 4).slots(for: NodeAllocation(hostname: "small", cores: 4, memoryBytes: 4 << 30),
                                                    layout: .vmsPerNode(2))
        }
        #expect(throws: V2MError.self) {
            try ProfilePlanner(memoryPerVM: 10 << 30).slots(for: node, layout: .vmsPerNode(2))
        }
    }

    @Test("VMs too small to boot are refused even with oversubscribe")
    func tooSmall() {
        let tiny = NodeAllocation(hostname: "t", cores: 64, memoryBytes: 1 << 30)
        #expect(throws: V2MError.self) { try ProfilePlanner(oversubscribe: true).slots(for: tiny, layout: .onePerCore) }
    }

    @Test("invalid inputs", arguments: [0, -1])
    func invalidK(k: Int) {
        #expect(throws: V2MError.self) { try ProfilePlanner().slots(for: node, layout: .vmsPerNode(k)) }
    }

    @Test("profile validation rejects bad names and socket paths that are too long")
    func validation() {
        var p = Fixtures.profile()
        p.name = "bad name"
        #expect(throws: V2MError.self) { try p.validate() }
        p = Fixtures.profile()
        p.guestChannel.socketPath = "/" + String(repeating: "x", count: 120)
        #expect(throws: V2MError.self) { try p.validate() }
        #expect(throws: Never.self) { try Fixtures.profile().validate() }
    }

    @Test("boot command line carries the TCG timer workaround and the image's arguments")
    func bootCommandLine() {
        let line = Fixtures.profile().bootCommandLine(machine: .microvm)
        #expect(line == "console=ttyS0 panic=-1 quiet tsc_early_khz=2000000 lpj=4000000 cryptomgr.notests initcall_blacklist=crypto_kdf108_init,init_kprobe_trace pci=off rdinit=/init")
        #expect(Fixtures.profile().bootCommandLine(machine: .q35).contains("pci=off") == false)
    }
}
