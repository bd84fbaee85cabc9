import Testing
@testable import V2M

/// Snapshot start under libvirt: a template domain gets vhpc's own QMP monitor (it saves through it), a
/// restored one also starts as a migration target; a cold boot's XML has neither.
@Suite struct LibvirtSnapshotXMLTests {
    @Test func restoredDomainsWaitForTheirStateOnVHPCsOwnMonitor() {
        let profile = JobSwitchNICTests.profile()
        let cold = LibvirtDomainXML(profile: profile, accelerator: .tcg, consoleLogPath: "/c").render()
        #expect(!cold.contains("-qmp") && !cold.contains("-incoming"), "\(cold)")

        let template = LibvirtDomainXML(profile: profile, accelerator: .tcg, consoleLogPath: "/c", monitorSocket: "/run/v/qmp.sock").render()
        #expect(template.contains("<qemu:arg value='-qmp'/>\n    <qemu:arg value='unix:/run/v/qmp.sock,server=on,wait=off'/>"), "\(template)")
        #expect(!template.contains("-incoming"))

        let restored = LibvirtDomainXML(profile: Fixtures.profile(nics: 0), accelerator: .tcg, consoleLogPath: "/c",
                                        monitorSocket: "/run/v/qmp.sock", incoming: true).render()
        #expect(restored.hasPrefix("<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"), "\(restored)")
        #expect(restored.contains("<qemu:arg value='-incoming'/>\n    <qemu:arg value='defer'/>"), "\(restored)")
        // Same devices as the template: only the monitor and -incoming differ.
        let devices = { (xml: String) in xml.split(separator: "\n").filter { !$0.contains("qemu:arg") && !$0.contains("<domain") } }
        #expect(devices(template) == devices(LibvirtDomainXML(profile: profile, accelerator: .tcg, consoleLogPath: "/c",
                                                              monitorSocket: "/run/v/qmp.sock", incoming: true).render()))
    }
}
