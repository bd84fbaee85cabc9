import Testing
@testable import V2M

/// The job network's NIC kind: QEMU's dgram netdev between the VM's and the switch's unix sockets.
@Suite struct JobSwitchNICTests {
    static func profile() -> VMProfile {
        var profile = Fixtures.profile(nics: 0)
        profile.nics = [VMNIC(mac: "52:56:00:01:00:02", network: .unixDatagram(vmPath: "/run/j/r3.vm", switchPath: "/run/j/r3.sw"))]
        return profile
    }

    @Test func qemuConnectsTheVMSocketToTheSwitchPort() {
        let arguments = QEMUCommandLine(profile: Self.profile(), accelerator: .tcg, qmpSocketPath: nil, consoleLogPath: "/c").arguments
        #expect(arguments.contains("dgram,id=n0,local.type=unix,local.path=/run/j/r3.vm,remote.type=unix,remote.path=/run/j/r3.sw"))
        #expect(arguments.contains("virtio-net-device,netdev=n0,mac=52:56:00:01:00:02"))
    }

    @Test func libvirtPassesTheDatagramNICToQEMU() {
        let xml = LibvirtDomainXML(profile: Self.profile(), accelerator: .tcg, consoleLogPath: "/c").render()
        #expect(xml.hasPrefix("<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"), "\(xml)")
        #expect(xml.contains("<qemu:arg value='dgram,id=vn0,local.type=unix,local.path=/run/j/r3.vm,remote.type=unix,remote.path=/run/j/r3.sw'/>"), "\(xml)")
        #expect(xml.contains("<qemu:arg value='virtio-net-pci,netdev=vn0,mac=52:56:00:01:00:02,bus=pcie.0,addr=0x10'/>"), "\(xml)")
        #expect(!xml.contains("<interface"), "\(xml)")
    }

    @Test func xenFallsBackToItsDefaultBridge() {
        let config = XenConfig(profile: Self.profile()).render()
        #expect(config.contains("'mac=52:56:00:01:00:02, bridge=xenbr0, type=vif'"), "\(config)")
    }
}
