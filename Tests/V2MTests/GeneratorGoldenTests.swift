import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import V2M

@Suite("Generated hypervisor configurations (golden files)")
struct GeneratorGoldenTests {
    @Test("xen: xl config with disk, NIC and channel")
    func xenConfig() throws {
        let text = XenConfig(profile: Fixtures.profile()).render()
        #expect(try Golden.check(text, against: "xen/job7-n0-1.cfg") == text)
    }

    @Test("xen: initramfs-only image has an empty disk list and no vif entries")
    func xenNoDisk() throws {
        let text = XenConfig(profile: Fixtures.profile(disk: false, nics: 0, vcpus: 1)).render()
        #expect(try Golden.check(text, against: "xen/job7-n0-1-nodisk.cfg") == text)
        #expect(text.contains("disk = [ ]\n"))
        #expect(text.contains("vif = [ ]\n"))
    }

    @Test("xen: xl command lines")
    func xenCommands() throws {
        let text = XenConfig(profile: Fixtures.profile()).commands(migrateTo: "node02").script
        #expect(try Golden.check(text, against: "xen/job7-n0-1.commands") == text)
    }

    @Test("palacios: guest XML")
    func palaciosXML() throws {
        let text = PalaciosConfig(profile: Fixtures.profile(), deviceIndex: 3).render()
        #expect(try Golden.check(text, against: "palacios/job7-n0-1.xml") == text)
        // Well-formed XML with one <core/> per vCPU.
        let document = try XMLDocument(xmlString: text)
        #expect(try document.nodes(forXPath: "/vm/cores/core").count == 2)
        #expect(try document.nodes(forXPath: "/vm/memory").first?.stringValue == "512")
    }

    @Test("palacios: v3_* command lines")
    func palaciosCommands() throws {
        let text = PalaciosConfig(profile: Fixtures.profile(), deviceIndex: 3)
            .commands(migrationHost: "node02", migrationPort: 7777).script
        #expect(try Golden.check(text, against: "palacios/job7-n0-1.commands") == text)
    }

    @Test("qemu: command line")
    func qemuCommandLine() throws {
        let profile = Fixtures.profile()
        let line = QEMUCommandLine(profile: profile, accelerator: .tcg, qmpSocketPath: profile.runtimeDirectory + "/qmp.sock",
                                   consoleLogPath: profile.runtimeDirectory + "/console.log")
        let text = line.arguments.map(shellQuote).joined(separator: " \\\n  ") + "\n"
        #expect(try Golden.check(text, against: "qemu/job7-n0-1.argv") == text)
        #expect(line.arguments.contains("microvm,accel=tcg"))
        #expect(line.arguments.contains { $0.hasPrefix("id=d0,if=none,file=/var/lib/vhpc/vms/job7-n0-1/disk.qcow2,format=qcow2") })
    }

    @Test("overlay: qemu-img creates a qcow2 backed by the shared base, never a copy")
    func overlayArguments() {
        let disk = Fixtures.profile().disk!
        #expect(OverlayDisk.createArguments(for: disk) == [
            "qemu-img", "create", "-q", "-f", "qcow2", "-b", Fixtures.imageDirectory + "/disk.qcow2", "-F", "qcow2",
            "/var/lib/vhpc/vms/job7-n0-1/disk.qcow2",
        ])
    }
}

@Suite("libvirt domain XML (golden file)")
struct LibvirtDomainXMLTests {
    @Test("TCG domain: type qemu, q35, direct kernel boot, overlay disk, guest channel, console file")
    func tcgDomain() throws {
        let profile = Fixtures.profile()
        let text = LibvirtDomainXML(profile: profile, accelerator: .tcg,
                                    consoleLogPath: profile.runtimeDirectory + "/console.log").render()
        #expect(try Golden.check(text, against: "libvirt/job7-n0-1.xml") == text)
        let document = try XMLDocument(xmlString: text)
        #expect(try document.nodes(forXPath: "/domain/@type").first?.stringValue == "qemu")
        #expect(try document.nodes(forXPath: "/domain/devices/channel/target/@name").first?.stringValue == "org.vhpc.guest.0")
        #expect(try document.nodes(forXPath: "/domain/devices/disk/driver/@type").first?.stringValue == "qcow2")
    }

    @Test("KVM domain says kvm and passes the host CPU through")
    func kvmDomain() throws {
        let text = LibvirtDomainXML(profile: Fixtures.profile(), accelerator: .kvm, consoleLogPath: "/c").render()
        #expect(text.hasPrefix("<domain type='kvm'>"))
        #expect(text.contains("<cpu mode='host-passthrough'/>"))
    }
}
