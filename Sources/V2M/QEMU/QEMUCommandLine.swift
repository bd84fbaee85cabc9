import GuestProtocol
/// Turns a `VMProfile` into a `qemu-system-x86_64` command line (pure; golden-tested).
///
/// Machine `microvm` with virtio-mmio devices: guest channel as a `virtserialport` named after the
/// profile's port, whose chardev is a unix socket QEMU serves (`server=on,wait=off`); the guest's
/// credentials as an fw_cfg file (never inline: `ps` shows command lines); disk as the qcow2
/// overlay; console to a log file; QMP on its own unix socket.
public struct QEMUCommandLine: Sendable, Equatable {
    public var profile: VMProfile
    public var accelerator: Accelerator
    /// QMP monitor socket, if any.
    public var qmpSocketPath: String?
    /// Where the guest's serial console goes.
    public var consoleLogPath: String
    /// `-daemonize -pidfile PATH` for VMs that must outlive the process that started them.
    public var daemonizePIDFile: String?
    /// `-incoming URI`: start as a migration target.
    public var incomingURI: String?
    /// The executable (a name resolved on PATH, or a path).
    public var executable: String = "qemu-system-x86_64"

    public init(profile: VMProfile, accelerator: Accelerator, qmpSocketPath: String?, consoleLogPath: String,
                daemonizePIDFile: String? = nil, incomingURI: String? = nil) {
        self.profile = profile
        self.accelerator = accelerator
        self.qmpSocketPath = qmpSocketPath
        self.consoleLogPath = consoleLogPath
        self.daemonizePIDFile = daemonizePIDFile
        self.incomingURI = incomingURI
    }

    /// The full argv, `executable` first.
    public var arguments: [String] {
        var a = [executable,
                 "-name", "\(profile.name),process=vhpc-\(profile.name)",
                 "-M", "microvm,accel=\(accelerator.rawValue)",
                 "-m", "\(profile.memoryMiB)M",
                 "-smp", "\(profile.vcpus)",
                 "-nodefaults", "-no-user-config", "-nographic",
                 "-serial", "file:\(consoleLogPath)",
                 "-kernel", profile.kernelPath,
                 "-initrd", profile.initrdPath,
                 "-append", profile.bootCommandLine(machine: .microvm),
                 "-no-reboot"]
        if let file = profile.memoryFile {
            a += ["-object", "memory-backend-file,id=ram0,size=\(profile.memoryMiB)M,mem-path=\(file.path),share=\(file.shared ? "on" : "off")",
                  "-machine", "memory-backend=ram0"]
        }
        // Under TCG the default CPU lacks RDRAND; with it the guest kernel seeds its CRNG at boot.
        a += ["-cpu", accelerator == .kvm ? "host" : "qemu64,+rdrand"]
        // A virtio RNG seeds the guest kernel's CRNG at once: without one, the guest agent's first nonce
        // (its Wire handshake) waits about a second under TCG for the CRNG to initialise.
        a += ["-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-device,rng=rng0"]
        a += ["-device", "virtio-serial-device",
              "-chardev", "socket,id=guest,path=\(profile.guestChannel.socketPath),server=on,wait=off",
              "-device", "virtserialport,chardev=guest,name=\(profile.guestChannel.portName)",
              "-fw_cfg", "name=\(GuestCredentials.firmwareConfigName),file=\(profile.guestChannel.credentialsPath)"]
        if let disk = profile.disk {
            a += ["-drive", "id=d0,if=none,file=\(disk.overlayPath),format=qcow2,cache=unsafe",
                  "-device", "virtio-blk-device,drive=d0"]
        }
        for (index, nic) in profile.nics.enumerated() {
            switch nic.network {
            case .user: a += ["-netdev", "user,id=n\(index)"]
            case .bridge(let bridge): a += ["-netdev", "bridge,id=n\(index),br=\(bridge)"]
            case .unixDatagram(let vmPath, let switchPath):
                a += ["-netdev", "dgram,id=n\(index),local.type=unix,local.path=\(vmPath),remote.type=unix,remote.path=\(switchPath)"]
            }
            a += ["-device", "virtio-net-device,netdev=n\(index),mac=\(nic.mac)"]
        }
        if let qmp = qmpSocketPath { a += ["-qmp", "unix:\(qmp),server=on,wait=off"] }
        if let pidFile = daemonizePIDFile { a += ["-daemonize", "-pidfile", pidFile] }
        if let incoming = incomingURI { a += ["-incoming", incoming] }
        return a
    }
}
