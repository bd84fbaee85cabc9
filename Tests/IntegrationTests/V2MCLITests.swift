import Foundation
import GuestProtocol
import Testing
import V2M
import VSE

/// `vhpc vm …` end to end through the built binary (skipped when it has not been built).
@Suite("V2M vhpc vm CLI", .serialized)
struct V2MCLITests {
    /// A VHPC_HOME holding the test image under images/.
    static func home(image: ImageEntry) throws -> String {
        let root = V2MTestImage.scratchState().root
        try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/images/" + image.manifest.id, withDestinationPath: image.directory)
        return root
    }

    /// `vhpc ARGS` with VHPC_HOME = `home` (and PATH = `path` when given).
    static func vhpc(_ arguments: [String], home: String, path: String? = nil,
                     extra: [String: String] = [:]) -> (status: Int32, out: String, err: String) {
        var environment = extra
        environment["VHPC_HOME"] = home
        if let path { environment["PATH"] = path }
        guard let result = try? CLI.run(arguments, environment: environment, timeout: .seconds(180)) else {
            return (-1, "", "could not start \(CLI.vhpc)")
        }
        return (result.status, result.stdout, result.stderr)
    }

    @Test("start in one process, control from others; a killed VM lists as crashed, never running")
    func lifecycleAcrossShells() async throws {
        let image = try #require(V2MTestImage.find())
        let home = try Self.home(image: image)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let start = Self.vhpc(["vm", "start", "--image", image.manifest.name, "--name", "cli1", "--accel", "tcg",
                               "--hypervisor", "qemu"], home: home)
        #expect(start.status == 0, "\(start.err)")
        #expect(start.out == "cli1\n")
        let record = try VMRecordStore(state: StateDirectory(root: home)).load("cli1")
        let pid = try #require(record.runtime?.pid)
        defer { kill(pid, SIGKILL) }
        #expect(Self.vhpc(["vm", "list"], home: home).out.contains("cli1  running"))
        let exec = Self.vhpc(["vm", "exec", "cli1", "--", "sh", "-c", "echo out; echo err >&2; exit 4"], home: home)
        #expect(exec.status == 4)
        #expect(exec.out == "out\n")
        #expect(exec.err == "err\n")
        #expect(Self.vhpc(["vm", "pause", "cli1"], home: home).status == 0)
        #expect(Self.vhpc(["vm", "status", "cli1"], home: home).out.contains("state:      paused"))
        #expect(Self.vhpc(["vm", "resume", "cli1"], home: home).status == 0)
        let migrate = Self.vhpc(["vm", "migrate", "cli1"], home: home)
        #expect(migrate.status == 0, "stderr: \(migrate.err)")
        let moved = try #require(try VMRecordStore(state: StateDirectory(root: home)).load("cli1").runtime?.pid)
        defer { kill(moved, SIGKILL) }
        #expect(moved != pid)
        #expect(!QEMUProcess.processExists(pid))
        kill(moved, SIGKILL)
        try await Task.sleep(for: .milliseconds(200))
        let list = Self.vhpc(["vm", "list"], home: home).out
        #expect(list.contains("cli1  crashed"), "\(list)")
        #expect(!list.contains("running"))
        #expect(Self.vhpc(["vm", "stop", "cli1"], home: home).status == 0)
        #expect(!FileManager.default.fileExists(atPath: home + "/vms/cli1"))
        #expect(Self.vhpc(["vm", "list"], home: home).out.split(separator: "\n").count == 1)
        #expect(V2MLeftovers.qemuProcesses(mentioning: home).isEmpty)
    }

    @Test("a paused VM stops within --timeout; vm list --json reports it paused; simulated is refused")
    func pausedVMStopsWithinItsTimeout() async throws {
        let image = try #require(V2MTestImage.find())
        let home = try Self.home(image: image)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let simulated = Self.vhpc(["vm", "start", "--image", image.manifest.name, "--hypervisor", "simulated"], home: home)
        #expect(simulated.status != 0)
        #expect(simulated.err.contains("simulated hypervisor"), "\(simulated.err)")
        let start = Self.vhpc(["vm", "start", "--image", image.manifest.name, "--name", "cli3", "--accel", "tcg",
                               "--hypervisor", "qemu"], home: home)
        #expect(start.status == 0, "\(start.err)")
        let pid = try #require(try VMRecordStore(state: StateDirectory(root: home)).load("cli3").runtime?.pid)
        defer { kill(pid, SIGKILL) }
        #expect(Self.vhpc(["vm", "pause", "cli3"], home: home).status == 0)
        struct Listed: Decodable { var schema: Int; var vms: [VM] }
        struct VM: Decodable { var name: String; var state: String; var pid: Int32? }
        let listed = try JSONDecoder().decode(Listed.self, from: Data(Self.vhpc(["vm", "list", "--json"], home: home).out.utf8))
        #expect(listed.vms.map(\.state) == ["paused"])
        #expect(listed.vms.first?.pid == pid)
        // Within the CLI watchdog (60 s): it used to wait minutes for a paused guest's answer.
        let stop = try CLI.run(["vm", "stop", "cli3", "--timeout", "2"], environment: ["VHPC_HOME": home], timeout: .seconds(60))
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout == "cli3 stopped\n")
        #expect(!QEMUProcess.processExists(pid))
    }

    @Test("two concurrent vm start --name X: exactly one starts, the other is told the name is taken")
    func concurrentStartsOfOneNameAreAtomic() async throws {
        let image = try #require(V2MTestImage.find())
        let home = try Self.home(image: image)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let arguments = ["vm", "start", "--image", image.manifest.name, "--name", "twin", "--accel", "tcg", "--hypervisor", "qemu"]
        async let first = Task.detached { Self.vhpc(arguments, home: home) }.value
        async let second = Task.detached { Self.vhpc(arguments, home: home) }.value
        let results = await [first, second]
        defer {
            if let pid = try? VMRecordStore(state: StateDirectory(root: home)).load("twin").runtime?.pid { kill(pid, SIGKILL) }
        }
        #expect(results.filter { $0.status == 0 }.count == 1, "\(results)")
        let loser = try #require(results.first { $0.status != 0 })
        #expect(loser.err.contains("a VM named 'twin' already exists"), "\(loser.err)")
        #expect(Self.vhpc(["vm", "stop", "twin", "--force"], home: home).status == 0)
        #expect(!FileManager.default.fileExists(atPath: home + "/vms/twin.lock"))
    }

    @Test("a host end with credentials not the VM's is refused at once, with a clear error")
    func wrongCredentialsAreRefused() async throws {
        let image = try #require(V2MTestImage.find())
        let home = try Self.home(image: image)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let start = Self.vhpc(["vm", "start", "--image", image.manifest.name, "--name", "cli2", "--accel", "tcg",
                               "--hypervisor", "qemu"], home: home)
        #expect(start.status == 0, "\(start.err)")
        let record = try VMRecordStore(state: StateDirectory(root: home)).load("cli2")
        let pid = try #require(record.runtime?.pid)
        defer { kill(pid, SIGKILL) }
        // The guest booted with the file's first secret; the host side now reads another one.
        let path = record.profile.guestChannel.credentialsPath
        let original = try GuestCredentialsFile.read(path, vmName: "cli2")
        try GuestCredentialsFile.write(GuestCredentials(jobID: original.jobID, rank: original.rank, secret: .generate()), to: path)
        let clock = ContinuousClock()
        let began = clock.now
        let exec = Self.vhpc(["vm", "exec", "cli2", "--", "true"], home: home)
        #expect(exec.status != 0)
        #expect(exec.err.contains("did not authenticate each other"), "\(exec.err)")
        #expect(clock.now - began < .seconds(30), "refused at once, not after a timeout")
        try GuestCredentialsFile.write(original, to: path)
        #expect(Self.vhpc(["vm", "exec", "cli2", "--", "true"], home: home).status == 0, "the right secret works again")
        #expect(Self.vhpc(["vm", "stop", "cli2"], home: home).status == 0)
        #expect(V2MLeftovers.qemuProcesses(mentioning: home).isEmpty)
    }

    @Test("bad input: one clear error line, non-zero exit, nothing left running",
          arguments: [
            (["vm", "start", "--image", "no-such-image"], "no image named or with id 'no-such-image'", nil as String?),
            (["vm", "start", "--image", "IMAGE", "--memory", "100T"], "more than this host has", nil),
            (["vm", "start", "--image", "IMAGE", "--hypervisor", "qemu"], "qemu-system-x86_64 not on PATH", "/nonexistent"),
            (["vm", "pause", "ghost"], "no VM named 'ghost'", nil),
          ])
    func badInput(arguments: [String], message: String, path: String?) throws {
        let image = try #require(V2MTestImage.find())
        let home = try Self.home(image: image)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let result = Self.vhpc(arguments.map { $0 == "IMAGE" ? image.manifest.name : $0 }, home: home, path: path)
        #expect(result.status != 0)
        let lines = result.err.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.err)")
        #expect(result.err.contains(message), "stderr: \(result.err)")
        #expect(VMRecordStore(state: StateDirectory(root: home)).list().isEmpty)
        #expect(V2MLeftovers.qemuProcesses(mentioning: home).isEmpty)
    }

    @Test("libvirtd not running: a clear error naming it")
    func libvirtdDown() throws {
        let image = try #require(V2MTestImage.find())
        let home = try Self.home(image: image)
        defer { try? FileManager.default.removeItem(atPath: home) }
        // A libvirtd socket nobody serves stands in for a stopped daemon (stopping the shared one would disturb others).
        let result = Self.vhpc(["vm", "start", "--image", image.manifest.name, "--name", "lvdown", "--hypervisor", "libvirt", "--accel", "tcg"],
                               home: home, extra: ["LIBVIRT_DEFAULT_URI": "qemu+unix:///system?socket=/nonexistent/libvirt-sock"])
        #expect(result.status != 0)
        #expect(result.err.split(separator: "\n").count == 1, "stderr: \(result.err)")
        #expect(result.err.contains("libvirtd not running"), "stderr: \(result.err)")
        #expect(!V2MLibvirtd.vhpcDomains().contains("vhpc-lvdown"))
    }
}
