import Foundation
import HostProcess

/// Puts vhpc's parts into a root filesystem tree: static busybox, init scripts, the guest agent with
/// its shared-library closure, kernel modules, the VSE's files and environment; runs setup commands.
struct RootfsAssembler {
    let root: String
    let tools: BuildTools

    /// Kernel modules every guest loads: virtio devices, and qemu_fw_cfg for the guest credentials (their
    /// dependencies are added from modules.dep).
    static let guestModules = ["virtio_mmio", "virtio_pci", "virtio_console", "virtio_blk", "virtio_net", "virtio_rng", "qemu_fw_cfg"]

    private var fm: FileManager { .default }

    func makeDirectories(_ paths: [String]) throws {
        for path in paths {
            try fm.createDirectory(atPath: root + path, withIntermediateDirectories: true)
        }
    }

    func write(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        try fm.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: root + path))
        chmod(root + path, mode)
    }

    func copy(_ source: String, to path: String, mode: mode_t? = nil) throws {
        let destination = root + path
        try fm.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if fm.fileExists(atPath: destination) { try fm.removeItem(atPath: destination) }
        try HostCommand("cp", ["-a", "--dereference", source, destination]).run()
        if let mode { chmod(destination, mode) }
    }

    /// A minimal busybox userland: `/bin/busybox` with applet links, passwd/group, standard dirs.
    func installBusyboxUserland() throws {
        try makeDirectories(["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/etc", "/root", "/tmp", "/proc", "/sys", "/dev", "/run", "/var/tmp"])
        chmod(root + "/tmp", 0o1777)
        try copy(tools.busybox, to: "/bin/busybox", mode: 0o755)
        let applets = try HostCommand(tools.busybox, ["--list-full"]).run().stdoutText
        for applet in applets.split(separator: "\n") where !applet.isEmpty {
            let link = root + "/" + applet
            guard !fm.fileExists(atPath: link) else { continue }
            try? fm.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? fm.createSymbolicLink(atPath: link, withDestinationPath: "/bin/busybox")
        }
        try write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", to: "/etc/passwd")
        try write("root:x:0:\nnogroup:x:65534:\n", to: "/etc/group")
        try write("127.0.0.1 localhost\n", to: "/etc/hosts")
    }

    /// vhpc's own files: busybox for init, the init script, the agent and its libraries, metadata.
    func installVHPCParts(vseName: String, environment: [String: String], modules: [String]) throws {
        try makeDirectories(["/usr/lib/vhpc", "/etc/vhpc", "/proc", "/sys", "/dev", "/run", "/tmp"])
        try copy(tools.busybox, to: GuestInitScripts.busyboxPath, mode: 0o755)
        try write(GuestInitScripts.systemInit, to: GuestInitScripts.initPath, mode: 0o755)
        try installGuestAgent()
        try write(vseName + "\n", to: "/etc/vhpc/vse-name")
        let lines = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
        try write(lines, to: "/etc/vhpc/environment")
        try write(modules.joined(separator: "\n") + "\n", to: "/etc/vhpc/modules")
    }

    /// The agent, stripped, plus every shared library `ldd` lists that the tree lacks.
    private func installGuestAgent() throws {
        try copy(tools.guestAgent, to: "/usr/bin/vhpc-guest", mode: 0o755)
        _ = try? HostCommand("strip", ["--strip-unneeded", root + "/usr/bin/vhpc-guest"]).run()
        for library in try Self.sharedLibraries(of: tools.guestAgent) {
            let inTree = root + library
            if fm.fileExists(atPath: inTree) { continue }
            // Debian trees keep libraries under /usr/lib with /lib a symlink; copying to the
            // resolved path keeps the tree's layout intact.
            try copy(library, to: library, mode: 0o755)
        }
    }

    /// Paths from `ldd`: `libx.so => /path (0x…)` and the loader `/lib64/ld-linux-x86-64.so.2 (0x…)`.
    static func sharedLibraries(of binary: String) throws -> [String] {
        let output = try HostCommand("ldd", [binary]).runAllowingFailure().stdoutText
        var paths: [String] = []
        for line in output.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if let arrow = words.firstIndex(of: "=>"), arrow + 1 < words.count, words[arrow + 1].hasPrefix("/") {
                paths.append(words[arrow + 1])
            } else if let first = words.first, first.hasPrefix("/") {
                paths.append(first)
            }
        }
        return paths
    }

    /// Copies `modules` and their dependencies from the kernel's module tree, then runs depmod.
    /// Returns the load list (names) written to /etc/vhpc/modules.
    func installModules(from kernel: PreparedKernel) throws -> [String] {
        guard let tree = kernel.modulesDirectory else { return [] }
        let dependencies = try ModuleDependencies(modulesDep: tree + "/modules.dep")
        let files = dependencies.closure(of: Self.guestModules)
        let target = "/lib/modules/\(kernel.release)"
        for file in files {
            try copy(tree + "/" + file, to: target + "/" + file)
        }
        for extra in ["modules.order", "modules.builtin", "modules.builtin.modinfo"] where fm.fileExists(atPath: tree + "/" + extra) {
            try copy(tree + "/" + extra, to: target + "/" + extra)
        }
        try HostCommand("depmod", ["-b", root, kernel.release]).run()
        return Self.guestModules.filter { dependencies.contains($0) }
    }

    /// Copies the spec's files (files or directory trees) with their modes.
    func installFiles(_ files: [FileEntry]) throws {
        for file in files {
            try copy(file.source, to: file.target)
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: root + file.target, isDirectory: &isDirectory), !isDirectory.boolValue {
                chmod(root + file.target, mode_t(file.mode))
            }
        }
    }

    /// Runs each setup command with `/bin/sh -c` in a sandbox whose root is the tree (see
    /// ``setupSandboxArguments(root:)``), never as host root on the host's file system.
    func runSetup(_ commands: [String], environment: [String: String]) throws {
        var env = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LC_ALL": "C"]
        env.merge(environment) { _, new in new }
        guard HostCommand.resolve("bwrap") != nil else {
            throw BuildError.setupFailed(index: 0, command: commands.first ?? "", status: 127,
                                         output: "setup steps run in a bubblewrap sandbox and `bwrap` is not installed (Debian: bubblewrap; `make deps`)")
        }
        for (index, command) in commands.enumerated() {
            let output = try HostCommand("bwrap", Self.setupSandboxArguments(root: root) + ["/bin/sh", "-c", command],
                                         environment: env).runAllowingFailure()
            guard output.status == 0 else {
                throw BuildError.setupFailed(index: index, command: command, status: output.status,
                                             output: HostCommand.tail(output.stderrText + output.stdoutText))
            }
        }
    }

    /// bubblewrap's arguments for a setup step: new user (root inside maps to the builder's uid, with
    /// capabilities only over the new namespaces), mount, pid, network, IPC, UTS and cgroup namespaces; the
    /// tree bind-mounted as `/` by pivot_root (the host's file system is unmounted, so no chroot escape or
    /// `/proc/PID/root` path leads out), a fresh `/proc` of the new pid namespace, a minimal `/dev`, no
    /// network, and the step dies with the builder.
    static func setupSandboxArguments(root: String) -> [String] {
        ["--unshare-all", "--uid", "0", "--gid", "0", "--bind", root, "/", "--proc", "/proc", "--dev", "/dev",
         "--die-with-parent", "--new-session", "--chdir", "/"]
    }
}

/// Paths of the host programs a build uses.
struct BuildTools: Sendable {
    var busybox: String
    var guestAgent: String
}
