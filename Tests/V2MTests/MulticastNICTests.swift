import Testing
@testable import V2M

/// The job network's NIC kind: a UDP multicast L2 segment.
@Suite struct MulticastNICTests {
    static func profile() -> VMProfile {
        var profile = Fixtures.profile(nics: 0)
        profile.nics = [VMNIC(mac: "52:56:00:01:00:02", network: .multicast(group: "239.77.1.3", port: 23456))]
        return profile
    }

    @Test func qemuJoinsTheGroupOnLoopback() {
        let profile = Self.profile()
        let arguments = QEMUCommandLine(profile: profile, accelerator: .tcg, qmpSocketPath: nil, consoleLogPath: "/c").arguments
        #expect(arguments.contains("socket,id=n0,mcast=239.77.1.3:23456,localaddr=127.0.0.1"))
        #expect(arguments.contains("virtio-net-device,netdev=n0,mac=52:56:00:01:00:02"))
    }

    @Test func libvirtUsesAnMcastInterface() {
        let xml = LibvirtDomainXML(profile: Self.profile(), accelerator: .tcg, consoleLogPath: "/c").render()
        #expect(xml.contains("<interface type='mcast'>"))
        #expect(xml.contains("<source address='239.77.1.3' port='23456'/>"))
    }
}
