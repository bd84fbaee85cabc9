import Foundation
import Testing

/// `vhpc run --vse`: tasks in VMs booted by the tool agents (local launcher, real QEMU under TCG).
@Suite(.serialized) struct ClusterRunTests {
    @Test func fourVMsOnTwoNodesAnswerWithTheirOwnHostnamesAndExitCodes() throws {
        let build = try CLI.run(["vse", "build", "examples/tiny.yaml"])
        #expect(build.status == 0, "\(build.stderr)")

        let result = try CLI.run(["run", "--vse", "tiny", "-N", "2", "--vms-per-node", "2", "-l", "-K", "0", "--",
                                  "sh", "-c", "echo host=$(hostname) rank=$VHPC_RANK size=$VHPC_SIZE node=$VHPC_NODE greeting=$GREETING; [ $VHPC_RANK = 1 ] && exit 3; exit 0"])
        #expect(result.status == 3, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(result.stdout)")
        for rank in 0..<4 {
            let line = lines.first { $0.hasPrefix("\(rank): ") } ?? ""
            #expect(line.contains("host=tiny-r\(rank) rank=\(rank) size=4 node=\(rank / 2) greeting=hello"), "\(result.stdout)")
        }
        #expect(Set(lines.compactMap { $0.split(separator: " ").dropFirst().first }).count == 4)
        #expect(Self.leftoverQEMU().isEmpty, "\(Self.leftoverQEMU())")
    }

    @Test func vmsShareOneJobNetworkAcrossNodes() throws {
        // Rank 1 (node 1) pings rank 0 (node 0) by name and by address while rank 0 stays up.
        let result = try CLI.run(["run", "--vse", "tiny", "-N", "2", "--vms-per-node", "1", "-l", "--",
                                  "sh", "-c", "if [ $VHPC_RANK = 0 ]; then sleep 8; else sleep 1; ping -c 2 -W 3 tiny-r0 && ping -c 1 -W 3 10.77.0.1 && echo hosts=$VHPC_HOSTS; fi"])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("1: 64 bytes from 10.77.0.1"), "\(result.stdout)")
        #expect(result.stdout.contains("1: hosts=tiny-r0=10.77.0.1 tiny-r1=10.77.0.2"), "\(result.stdout)")
        #expect(Self.leftoverQEMU().isEmpty)
        #expect(Self.switchDirectories().isEmpty, "job-switch sockets left: \(Self.switchDirectories())")
    }

    @Test func vmSizeComesFromTheCommandLine() throws {
        let result = try CLI.run(["run", "--vse", "tiny", "-N", "1", "--vms-per-node", "1", "--vcpus", "2", "--memory", "384M", "--",
                                  "sh", "-c", "echo cpus=$(grep -c ^processor /proc/cpuinfo); grep MemTotal /proc/meminfo"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("cpus=2"), "\(result.stdout)")
        // MemTotal is what the kernel keeps after its own reservations: a little under 384 MiB.
        let kilobytes = result.stdout.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
            .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        #expect((300 * 1024...384 * 1024).contains(kilobytes), "\(result.stdout)")
    }

    @Test(arguments: [
        (["--hypervisor", "xen"], "--hypervisor xen: its configuration is generated"),
        (["--hypervisor", "vbox"], "The value 'vbox' is invalid for '--hypervisor <hypervisor>'. Please provide one of the following: auto, qemu, libvirt, xen, palacios, simulated"),
        (["--memory", "12Q"], "--memory '12Q' is not a size"),
        (["--vcpus", "0"], "--vcpus must be at least 1"),
    ])
    func badVMOptionsAreOneClearError(options: [String], message: String) throws {
        let result = try CLI.run(["run", "--vse", "tiny", "-N", "1"] + options + ["--", "true"])
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(Self.leftoverQEMU().isEmpty)
    }

    /// The same job on the libvirt plug-in (real libvirtd, transient q35 domains): each rank in its own
    /// domain, on the job network (rank 1 pings rank 0 by name), no domain or QEMU left after.
    @Test func libvirtVMsRunTheJobOnTheJobNetwork() throws {
        try #require(V2MLibvirtd.ensureRunning(), "libvirtd not available")
        let build = try CLI.run(["vse", "build", "examples/tiny.yaml"])
        #expect(build.status == 0, "\(build.stderr)")
        let result = try CLI.run(["run", "--vse", "tiny", "--hypervisor", "libvirt", "-N", "2", "--vms-per-node", "1", "-l", "--",
                                  "sh", "-c", "echo host=$(hostname) rank=$VHPC_RANK; if [ $VHPC_RANK = 0 ]; then sleep 60; exit 0; fi; " +
                                  // Rank 0's VM may boot later than rank 1's: ping until it answers (40 s at most).
                                  "i=0; while [ $i -lt 40 ]; do ping -c 1 -W 1 tiny-r0 >/dev/null && { ping -c 1 tiny-r0; exit 4; }; i=$((i+1)); done; exit 1"])
        #expect(result.status == 4, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("0: host=tiny-r0 rank=0"), "\(result.stdout)")
        #expect(result.stdout.contains("1: host=tiny-r1 rank=1"), "\(result.stdout)")
        #expect(result.stdout.contains("1: 64 bytes from 10.77.0.1"), "\(result.stdout)")
        #expect(V2MLibvirtd.vhpcDomains().filter { $0.hasPrefix("vhpc-job-") }.isEmpty, "\(V2MLibvirtd.vhpcDomains())")
        #expect(Self.leftoverQEMU().isEmpty, "\(Self.leftoverQEMU())")
    }

    @Test func debianVSEAcrossTwoNodesRunsItsExtraPackage() throws {
        let build = try CLI.run(["vse", "build", "-q", "examples/debian.yaml"])
        #expect(build.status == 0, "\(build.stderr)")
        let result = try CLI.run(["run", "--vse", "debian-bc", "-N", "2", "--vms-per-node", "1", "-l", "--",
                                  "sh", "-c", "echo \"$(hostname): $(echo \"2^$VHPC_RANK+40\" | bc)\""])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("0: debian-bc-r0: 41"), "\(result.stdout)")
        #expect(result.stdout.contains("1: debian-bc-r1: 42"), "\(result.stdout)")
        #expect(Self.leftoverQEMU().isEmpty)
    }

    @Test func killingOneQEMUAbortsTheJobAndLeavesNothing() throws {
        let process = try CLI.command(CLI.vhpc, ["run", "--vse", "tiny", "-N", "2", "--vms-per-node", "1", "--", "sleep", "60"]).start()
        let started = Date()
        var victims: [Int32] = []
        while victims.count < 2, Date().timeIntervalSince(started) < 60 {
            Thread.sleep(forTimeInterval: 0.5)
            victims = Self.leftoverQEMU().compactMap { Int32($0.prefix { $0 != ":" }) }
        }
        #expect(victims.count == 2, "both VMs should be up")
        Thread.sleep(forTimeInterval: 6)  // let the guests boot and start the command
        if let victim = victims.first { kill(victim, SIGKILL) }
        let killedAt = Date()
        while process.isRunning, Date().timeIntervalSince(killedAt) < 30 { Thread.sleep(forTimeInterval: 0.2) }
        process.signal(SIGTERM)
        let finished = process.wait()
        let stderr = finished.stderrText
        #expect(Date().timeIntervalSince(killedAt) < 30, "abort must end the job promptly")
        #expect(finished.status != 0)
        #expect(stderr.contains("failed"), "\(stderr)")
        Thread.sleep(forTimeInterval: 1)
        #expect(Self.leftoverQEMU().isEmpty, "\(Self.leftoverQEMU())")
    }

    /// Ctrl-C while the VMs run: the front-end exits 130, every QEMU is gone and no runtime directory
    /// (overlay, guest and QMP sockets, logs) is left.
    @Test func interruptShutsDownEveryVMAndLeavesNothing() throws {
        let runtimeDirectories = { Set(((try? FileManager.default.contentsOfDirectory(atPath: CLI.stateDirectory + "/tmp")) ?? []).filter { $0.hasPrefix("boot-") || $0.hasPrefix("job-") }) }
        let before = runtimeDirectories()
        let process = try CLI.command(CLI.vhpc, ["run", "--vse", "tiny", "-N", "2", "--vms-per-node", "1", "--", "sleep", "60"]).start()
        let started = Date()
        while Self.leftoverQEMU().count < 2, Date().timeIntervalSince(started) < 60 { Thread.sleep(forTimeInterval: 0.5) }
        #expect(Self.leftoverQEMU().count == 2, "both VMs should be up")
        Thread.sleep(forTimeInterval: 3)
        process.signal(SIGINT)
        let interrupted = Date()
        while process.isRunning, Date().timeIntervalSince(interrupted) < 20 { Thread.sleep(forTimeInterval: 0.1) }
        let elapsed = Date().timeIntervalSince(interrupted)
        process.signal(SIGTERM)
        #expect(process.wait().status == 130)
        #expect(elapsed < 10, "took \(elapsed) s")
        Thread.sleep(forTimeInterval: 0.5)
        #expect(Self.leftoverQEMU().isEmpty, "\(Self.leftoverQEMU())")
        #expect(runtimeDirectories().subtracting(before).isEmpty, "left: \(runtimeDirectories().subtracting(before))")
        #expect(Self.switchDirectories().isEmpty, "job-switch sockets left: \(Self.switchDirectories())")
        print("Ctrl-C with 2 VMs: front-end gone \(elapsed) s after SIGINT")
    }

    /// Job-switch socket directories (`net-<job>-n<node>`) anywhere in the tests' state directory, and in
    /// /tmp/vhpc-<uid>, where they go when the state directory's path is too long for a unix socket.
    static func switchDirectories() -> [String] {
        let root = URL(fileURLWithPath: CLI.stateDirectory)
        let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        var found: [String] = []
        while let url = walker?.nextObject() as? URL {
            if url.lastPathComponent.hasPrefix("net-") { found.append(url.path) }
            if url.pathComponents.count - root.pathComponents.count >= 4 { walker?.skipDescendants() }
        }
        let fallback = "/tmp/vhpc-\(getuid())"
        let inTmp = (try? FileManager.default.contentsOfDirectory(atPath: fallback)) ?? []
        return found + inTmp.filter { $0.hasPrefix("net-job-") }.map { fallback + "/" + $0 }
    }

    /// QEMU processes whose runtime directory lies in the tests' state directory.
    static func leftoverQEMU() -> [String] {
        // VM runtime directories (`job-…-n<node>-<i>` for a job's VMs, `boot-…` for vse boot) live in the state's
        // tmp, or in /tmp/vhpc-<uid> when that path is too long.
        let markers = ["boot-", "job-"].flatMap { [CLI.stateDirectory + "/tmp/" + $0, "/tmp/vhpc-\(getuid())/" + $0] }
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.filter { $0.allSatisfy(\.isNumber) } ?? []
        return pids.compactMap { pid in
            guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            let cmdline = String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return cmdline.contains("qemu-system") && markers.contains(where: cmdline.contains) ? "\(pid): \(cmdline.prefix(120))" : nil
        }
    }
}
