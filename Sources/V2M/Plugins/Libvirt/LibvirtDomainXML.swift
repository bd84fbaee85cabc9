import GuestProtocol
/// A libvirt domain definition generated from a profile (pure; golden-tested).
///
/// Machine q35 with PCI virtio devices; `type='qemu'` (TCG) unless KVM is usable; direct kernel boot with
/// the same timer arguments as the qemu plug-in; the guest channel as a virtio-serial `<channel>` bound to
/// the profile's unix socket; console to a file; QEMU runs as root (static DAC label) so it can create the
/// socket and open the overlay wherever the runtime directory is.
public struct LibvirtDomainXML: Sendable, Equatable {
    public var profile: VMProfile
    public var accelerator: Accelerator
    public var emulator: String
    public var consoleLogPath: String
    /// A QMP monitor of vhpc's own beside libvirt's (snapshot start saves and restores guests through it).
    public var monitorSocket: String?
    /// Start as a migration target (`-incoming defer`): a snapshot's state is loaded through `monitorSocket`.
    public var incoming = false

    public init(profile: VMProfile, accelerator: Accelerator, emulator: String = "/usr/bin/qemu-system-x86_64",
                consoleLogPath: String, monitorSocket: String? = nil, incoming: Bool = false) {
        self.profile = profile
        self.accelerator = accelerator
        self.emulator = emulator
        self.consoleLogPath = consoleLogPath
        self.monitorSocket = monitorSocket
        self.incoming = incoming
    }

    /// The libvirt domain name for a VM.
    public static func domainName(for vm: String) -> String { "vhpc-" + vm }

    public func render() -> String {
        var x: [String] = []
        // Job-switch NICs are QEMU's unix datagram netdev, which libvirt's interface types cannot express:
        // they go to QEMU as extra arguments (libvirt's qemu namespace), on the PCIe root bus at slot 0x10 and
        // up, far above the slots libvirt fills from 0x1 (QEMU sees these arguments before libvirt's devices).
        // Snapshot start adds vhpc's own QMP monitor and `-incoming defer` the same way.
        let passthrough = profile.nics.enumerated().compactMap { index, nic -> [String]? in
            guard case .unixDatagram(let vmPath, let switchPath) = nic.network else { return nil }
            return ["-netdev", "dgram,id=vn\(index),local.type=unix,local.path=\(vmPath),remote.type=unix,remote.path=\(switchPath)",
                    "-device", "virtio-net-pci,netdev=vn\(index),mac=\(nic.mac),bus=pcie.0,addr=0x\(String(0x10 + index, radix: 16))"]
        }.flatMap { $0 } + (monitorSocket.map { ["-qmp", "unix:\($0),server=on,wait=off"] } ?? []) + (incoming ? ["-incoming", "defer"] : [])
        let namespace = passthrough.isEmpty ? "" : " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"
        x.append("<domain type='\(accelerator == .kvm ? "kvm" : "qemu")'\(namespace)>")
        x.append("  <name>\(escape(Self.domainName(for: profile.name)))</name>")
        x.append("  <memory unit='MiB'>\(profile.memoryMiB)</memory>")
        x.append("  <vcpu placement='static'>\(profile.vcpus)</vcpu>")
        x.append("  <os>")
        x.append("    <type arch='x86_64' machine='q35'>hvm</type>")
        x.append("    <kernel>\(escape(profile.kernelPath))</kernel>")
        x.append("    <initrd>\(escape(profile.initrdPath))</initrd>")
        x.append("    <cmdline>\(escape(profile.bootCommandLine(machine: .q35)))</cmdline>")
        x.append("  </os>")
        // The guest's credentials as an fw_cfg file (libvirt ≥ 6.5), never inline in the domain.
        x.append("  <sysinfo type='fwcfg'>")
        x.append("    <entry name='\(GuestCredentials.firmwareConfigName)' file='\(escape(profile.guestChannel.credentialsPath))'/>")
        x.append("  </sysinfo>")
        x.append("  <features>")
        x.append("    <acpi/>")
        x.append("  </features>")
        if accelerator == .kvm { x.append("  <cpu mode='host-passthrough'/>") }
        x.append("  <clock offset='utc'/>")
        x.append("  <on_poweroff>destroy</on_poweroff>")
        x.append("  <on_reboot>destroy</on_reboot>")
        x.append("  <on_crash>destroy</on_crash>")
        x.append("  <devices>")
        x.append("    <emulator>\(escape(emulator))</emulator>")
        if let disk = profile.disk {
            x.append("    <disk type='file' device='disk'>")
            x.append("      <driver name='qemu' type='qcow2' cache='unsafe'/>")
            x.append("      <source file='\(escape(disk.overlayPath))'/>")
            x.append("      <target dev='vda' bus='virtio'/>")
            x.append("    </disk>")
        }
        x.append("    <controller type='virtio-serial' index='0'/>")
        x.append("    <serial type='file'>")
        x.append("      <source path='\(escape(consoleLogPath))'/>")
        x.append("      <target port='0'/>")
        x.append("    </serial>")
        x.append("    <channel type='unix'>")
        x.append("      <source mode='bind' path='\(escape(profile.guestChannel.socketPath))'/>")
        x.append("      <target type='virtio' name='\(escape(profile.guestChannel.portName))'/>")
        x.append("    </channel>")
        for nic in profile.nics {
            if case .unixDatagram = nic.network { continue }  // a QEMU argument, below
            switch nic.network {
            case .user:
                x.append("    <interface type='user'>")
            case .bridge(let bridge):
                x.append("    <interface type='bridge'>")
                x.append("      <source bridge='\(escape(bridge))'/>")
            case .unixDatagram:
                continue
            }
            x.append("      <mac address='\(nic.mac)'/>")
            x.append("      <model type='virtio'/>")
            x.append("    </interface>")
        }
        x.append("    <memballoon model='none'/>")
        // Seeds the guest's CRNG at boot (the guest agent's handshake nonce would wait for it otherwise).
        x.append("    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>")
        x.append("  </devices>")
        x.append("  <seclabel type='static' model='dac' relabel='no'>")
        x.append("    <label>+0:+0</label>")
        x.append("  </seclabel>")
        if !passthrough.isEmpty {
            x.append("  <qemu:commandline>")
            for argument in passthrough { x.append("    <qemu:arg value='\(escape(argument))'/>") }
            x.append("  </qemu:commandline>")
        }
        x.append("</domain>")
        return x.joined(separator: "\n") + "\n"
    }

    private func escape(_ s: String) -> String { Self.escape(s) }

    /// `s` escaped for an XML attribute or text (as libvirt formats it).
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "'", with: "&apos;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
