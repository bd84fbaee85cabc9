import Foundation
import Testing
@testable import V2M

@Suite("libvirt migration destination XML")
struct LibvirtMigrationXMLTests {
    static let source = """
        <domain type='qemu'>
          <name>vhpc-a</name>
          <uuid>8b40ab73-7def-4c24-8d82-884fb55de530</uuid>
          <devices>
            <serial type='file'>
              <source path='/run/vms/a/console.log'/>
            </serial>
            <console type='file'>
              <source path='/run/vms/a/console.log'/>
            </console>
            <channel type='unix'>
              <source mode='bind' path='/run/vms/a/guest.sock'/>
            </channel>
          </devices>
        </domain>
        """

    @Test("moves the guest socket and console log, keeps everything else")
    func moves() throws {
        let moved = try LibvirtMigrationXML.retarget(Self.source, moving: [
            ("/run/vms/a/guest.sock", "/run/vms/a/m1-guest.sock"), ("/run/vms/a/console.log", "/run/vms/a/m1-console.log"),
        ])
        #expect(!moved.contains("'/run/vms/a/guest.sock'"))
        #expect(!moved.contains("'/run/vms/a/console.log'"))
        #expect(moved.components(separatedBy: "path='/run/vms/a/m1-console.log'").count == 3)
        #expect(moved.contains("<source mode='bind' path='/run/vms/a/m1-guest.sock'/>"))
        #expect(moved.contains("<uuid>8b40ab73-7def-4c24-8d82-884fb55de530</uuid>"))
    }

    @Test("a path the source does not use is an error, not a silent no-op")
    func missingPath() {
        #expect(throws: V2MError.self) {
            try LibvirtMigrationXML.retarget(Self.source, moving: [("/elsewhere/guest.sock", "/elsewhere/m1-guest.sock")])
        }
    }

    @Test("a prefix of a longer path is not replaced")
    func wholeValuesOnly() throws {
        // A second value that merely starts with the moved path must stay as it is.
        let source = Self.source.replacingOccurrences(
            of: "</devices>", with: "  <filesystem><source dir='/run/vms/a/guest.sock.d'/></filesystem>\n  </devices>")
        let moved = try LibvirtMigrationXML.retarget(source, moving: [("/run/vms/a/guest.sock", "/x.sock")])
        #expect(moved.contains("path='/x.sock'"))
        #expect(moved.contains("/run/vms/a/console.log"))
        #expect(moved.contains("dir='/run/vms/a/guest.sock.d'"), "\(moved)")
        // Without the quotes the prefix would match too: moving only the shorter value must throw.
        #expect(throws: V2MError.self) {
            try LibvirtMigrationXML.retarget(Self.source, moving: [("/run/vms/a/guest", "/y")])
        }
    }
}
