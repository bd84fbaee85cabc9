import Foundation
import HostProcess

/// Starts `virtlogd -d` and `libvirtd -d` if they are not running (tests only) and lists vhpc domains.
/// A second daemon acting as another host, for migration, is `V2MLibvirtdPeer`.
enum V2MLibvirtd {
    static func run(_ argv: [String]) -> (Int32, String) {
        guard let output = try? HostCommand("/usr/bin/env", argv).runAllowingFailure() else { return (127, "cannot run \(argv)") }
        return (output.status, output.stdoutText + output.stderrText)
    }

    static func isRunning(_ daemon: String) -> Bool {
        run(["pgrep", "-x", daemon]).0 == 0
    }

    /// True when libvirtd answers on qemu:///system (starting the daemons if needed).
    static func ensureRunning() -> Bool {
        if run(["which", "libvirtd"]).0 != 0 { return false }
        fixKVMDevicePermissions()
        if !isRunning("virtlogd") { startDaemon(["virtlogd", "-d"]) }
        if !isRunning("libvirtd") { startDaemon(["libvirtd", "-d"]) }
        for _ in 0..<50 {
            if run(["virsh", "-c", "qemu:///system", "version"]).0 == 0 { return true }
            usleep(200_000)
        }
        return false
    }

    /// Runs a self-daemonizing program with /dev/null as stdio and no other inherited descriptor: a daemon
    /// keeping Foundation's exit-watch socket or an output pipe of `run` would make `run` wait for the
    /// daemon's end.
    static func startDaemon(_ argv: [String]) {
        let closeAndExec = #"for fd in /proc/$BASHPID/fd/*; do fd=${fd##*/}; "#
            + #"if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null; fi; done; "#
            + #"exec "$@" </dev/null >/dev/null 2>&1"#
        _ = run(["bash", "-c", closeAndExec, "daemon"] + argv)
    }

    /// Without udev (containers) /dev/kvm stays 0600 root:root. libvirtd then finds KVM "not usable" by its
    /// QEMU user (libvirt-qemu, group kvm) while its capability probe saw KVM enabled, judges the cache under
    /// /var/cache/libvirt/qemu/capabilities stale ("KVM was enabled when probing …, but it is not available
    /// now") and re-probes QEMU on every domain start (~45 s). Debian's udev rule makes it 0660 root:kvm;
    /// apply the same here.
    static func fixKVMDevicePermissions() {
        var info = stat()
        guard stat("/dev/kvm", &info) == 0, info.st_mode & 0o777 == 0o600, run(["getent", "group", "kvm"]).0 == 0 else { return }
        _ = run(["chgrp", "kvm", "/dev/kvm"])
        _ = run(["chmod", "660", "/dev/kvm"])
    }

    /// Names of running domains created by vhpc on the daemon at `uri` (the system one by default).
    static func vhpcDomains(uri: String = "qemu:///system") -> [String] {
        run(["virsh", "-q", "-c", uri, "list", "--name"]).1
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("vhpc-") }
    }
}
