import Foundation
import VSE

/// How to deploy one VM from a VSE image: what every plug-in needs, and nothing hypervisor-specific.
///
/// Built from an `ImageManifest` plus an allocation (`init(image:name:vcpus:memoryBytes:runtimeDirectory:)`
/// or `ProfilePlanner`). The disk is always a per-VM copy-on-write qcow2 overlay over the shared base image.
public struct VMProfile: Sendable, Equatable, Codable {
    public var name: String
    public var vcpus: Int
    public var memoryBytes: UInt64
    /// Image id and name, for records and messages.
    public var imageID: String
    public var imageName: String
    public var kernelPath: String
    public var initrdPath: String
    /// The image's own kernel arguments (`ImageManifest.kernelCommandLine`); console/timer arguments are
    /// added by `bootCommandLine(machine:)`.
    public var kernelCommandLine: String
    public var disk: VMDisk?
    public var guestChannel: GuestChannelEndpoint
    public var nics: [VMNIC]
    /// Directory holding the VM's overlay, sockets, console log and pid file.
    public var runtimeDirectory: String
    /// Guest RAM in a file rather than anonymous memory (snapshots: see ``VMMemoryFile``).
    public var memoryFile: VMMemoryFile? = nil

    public init(name: String, vcpus: Int, memoryBytes: UInt64, imageID: String, imageName: String, kernelPath: String,
                initrdPath: String, kernelCommandLine: String, disk: VMDisk?, guestChannel: GuestChannelEndpoint,
                nics: [VMNIC] = [], runtimeDirectory: String) {
        self.name = name
        self.vcpus = vcpus
        self.memoryBytes = memoryBytes
        self.imageID = imageID
        self.imageName = imageName
        self.kernelPath = kernelPath
        self.initrdPath = initrdPath
        self.kernelCommandLine = kernelCommandLine
        self.disk = disk
        self.guestChannel = guestChannel
        self.nics = nics
        self.runtimeDirectory = runtimeDirectory
    }

    /// A profile for `image` with the given allocation (image defaults when nil). Paths of the overlay and
    /// guest socket live under `runtimeDirectory`.
    public init(image: ImageEntry, name: String, vcpus: Int? = nil, memoryBytes: UInt64? = nil,
                runtimeDirectory: String, nics: [VMNIC] = []) {
        let manifest = image.manifest
        var disk: VMDisk?
        if let base = image.diskPath {
            disk = VMDisk(basePath: base, baseFormat: manifest.diskFormat ?? "raw",
                          overlayPath: runtimeDirectory + "/disk.qcow2")
        }
        self.init(name: name, vcpus: vcpus ?? max(1, manifest.defaultVCPUs),
                  memoryBytes: memoryBytes ?? manifest.defaultMemoryBytes,
                  imageID: manifest.id, imageName: manifest.name,
                  kernelPath: image.kernelPath, initrdPath: image.initrdPath,
                  kernelCommandLine: manifest.kernelCommandLine, disk: disk,
                  guestChannel: GuestChannelEndpoint(portName: manifest.guestChannel.name,
                                                     socketPath: runtimeDirectory + "/guest.sock"),
                  nics: nics, runtimeDirectory: runtimeDirectory)
    }

    /// Memory in MiB, rounded up.
    public var memoryMiB: UInt64 { (memoryBytes + (1 << 20) - 1) >> 20 }

    /// Arguments that make Debian's kernel boot quickly and visibly under any x86 hypervisor, then the
    /// image's own. Without `tsc_early_khz`/`lpj` microvm under TCG hangs calibrating the TSC. The
    /// crypto self-tests, the KDF self-test and kprobe-event set-up cost 0.6 s of a 2.5 s TCG boot
    /// (found with `initcall_debug`); a guest that runs one application needs none of them.
    public func bootCommandLine(machine: MachineFlavor) -> String {
        var parts = ["console=\(machine.consoleDevice)", "panic=-1", "quiet", "tsc_early_khz=2000000", "lpj=4000000",
                     "cryptomgr.notests", "initcall_blacklist=crypto_kdf108_init,init_kprobe_trace"]
        if machine == .microvm { parts.append("pci=off") }
        if !kernelCommandLine.isEmpty { parts.append(kernelCommandLine) }
        return parts.joined(separator: " ")
    }

    /// Checks what every plug-in relies on.
    public func validate() throws(V2MError) {
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }),
              name.first != "." else {
            throw .invalidProfile("VM name '\(name)' must be letters, digits, '-', '_' or '.'")
        }
        guard vcpus >= 1 else { throw .invalidProfile("\(name): vcpus must be at least 1 (got \(vcpus))") }
        guard memoryBytes >= 32 << 20 else {
            throw .invalidProfile("\(name): memory must be at least 32 MiB (got \(memoryBytes) bytes)")
        }
        guard guestChannel.socketPath.utf8.count < 104 else {
            throw .invalidProfile("\(name): guest socket path is \(guestChannel.socketPath.utf8.count) bytes, longer than a unix socket allows (103)")
        }
    }
}

/// The x86 machine model a plug-in boots; decides console and PCI arguments.
public enum MachineFlavor: String, Sendable, Codable {
    /// QEMU's `microvm`: virtio-mmio only, no PCI, fastest boot.
    case microvm
    /// `q35` (libvirt), PCI virtio devices.
    case q35
    /// Xen PV / Palacios guests: console on hvc0.
    case paravirtual

    var consoleDevice: String { self == .paravirtual ? "hvc0" : "ttyS0" }
}

/// The VM's root disk: a qcow2 overlay whose backing file is the shared, read-only base image.
public struct VMDisk: Sendable, Equatable, Codable {
    public var basePath: String
    /// `raw` or `qcow2`.
    public var baseFormat: String
    public var overlayPath: String

    public init(basePath: String, baseFormat: String, overlayPath: String) {
        self.basePath = basePath
        self.baseFormat = baseFormat
        self.overlayPath = overlayPath
    }
}

/// The host end of the guest channel: the virtio-serial port name, the unix socket QEMU serves it on, and
/// the credentials file (``GuestCredentialsFile``) the guest gets through fw_cfg.
public struct GuestChannelEndpoint: Sendable, Equatable, Codable {
    public var portName: String
    public var socketPath: String
    public var credentialsPath: String

    /// `credentialsPath` defaults to `guest-credentials` next to the socket.
    public init(portName: String = "org.vhpc.guest.0", socketPath: String, credentialsPath: String? = nil) {
        self.portName = portName
        self.socketPath = socketPath
        self.credentialsPath = credentialsPath
            ?? (socketPath as NSString).deletingLastPathComponent + "/guest-credentials"
    }

    private enum CodingKeys: String, CodingKey { case portName, socketPath, credentialsPath }

    /// Records written before guest credentials existed have no `credentialsPath`: the default applies.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(portName: try container.decode(String.self, forKey: .portName),
                  socketPath: try container.decode(String.self, forKey: .socketPath),
                  credentialsPath: try container.decodeIfPresent(String.self, forKey: .credentialsPath))
    }
}

/// A virtual NIC (virtio-net).
public struct VMNIC: Sendable, Equatable, Codable {
    /// How the NIC reaches the outside.
    public enum Network: Sendable, Equatable, Codable {
        /// QEMU user-mode networking (no privileges; Xen/Palacios map it to their default bridge).
        case user
        /// A host bridge such as `br0` or `xenbr0`.
        case bridge(String)
        /// A port of vhpc's user-space job switch (``JobSwitch``): QEMU's `dgram` netdev between the VM's
        /// unix datagram socket and the switch's. Spans hosts through the switches; QEMU plug-in only.
        case unixDatagram(vmPath: String, switchPath: String)
    }

    public var mac: String
    public var network: Network

    public init(mac: String, network: Network) {
        self.mac = mac
        self.network = network
    }

    /// A locally administered MAC derived from a VM name and NIC index (stable across runs).
    public static func mac(for vmName: String, index: Int) -> String {
        let hash = StableHash.fnv1a(vmName)
        let b = [UInt8(0x52), 0x54, UInt8((hash >> 16) & 0xff), UInt8((hash >> 8) & 0xff), UInt8(hash & 0xff),
                 UInt8(index & 0xff)]
        return b.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
            .joined(separator: ":")
    }
}

/// Guest RAM backed by a file: a snapshot template writes its RAM there (`shared`), a restored VM maps the
/// saved file copy-on-write (not shared), so restoring copies no memory.
public struct VMMemoryFile: Sendable, Equatable, Codable {
    public var path: String
    public var shared: Bool

    public init(path: String, shared: Bool) {
        self.path = path
        self.shared = shared
    }
}
