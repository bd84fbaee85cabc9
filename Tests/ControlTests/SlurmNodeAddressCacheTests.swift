import Foundation
import Launch
import Testing

/// `SlurmNodeAddress.lookup(_:jobID:cacheDirectory:)`: scontrol is asked once per node and Slurm job.
@Suite struct SlurmNodeAddressCacheTests {
    /// A stand-in scontrol that counts its runs in a file and prints `NodeAddr=<address>`.
    private func scratch(address: String) throws -> (scontrol: String, runs: String, cache: String) {
        let base = FileManager.default.temporaryDirectory.path + "/node-address-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let scontrol = base + "/scontrol"
        try ExecutableScript.write(scontrol, "#!/bin/sh\necho run >> '\(base)/runs'\necho 'NodeName=n1 NodeAddr=\(address) NodeHostName=n1'\n")
        return (scontrol, base + "/runs", base + "/cache")
    }

    private func runs(_ file: String) -> Int {
        ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    @Test func scontrolIsAskedOncePerNodeAndJob() throws {
        let (scontrol, runs, cache) = try scratch(address: "10.250.13.11")
        #expect(SlurmNodeAddress.lookup("n1", jobID: "7", cacheDirectory: cache, scontrol: scontrol) == "10.250.13.11")
        #expect(SlurmNodeAddress.lookup("n1", jobID: "7", cacheDirectory: cache, scontrol: scontrol) == "10.250.13.11")
        #expect(self.runs(runs) == 1)
        // Another allocation, or another node, asks again (and replaces the remembered line).
        #expect(SlurmNodeAddress.lookup("n1", jobID: "8", cacheDirectory: cache, scontrol: scontrol) == "10.250.13.11")
        #expect(SlurmNodeAddress.lookup("n2", jobID: "8", cacheDirectory: cache, scontrol: scontrol) == "10.250.13.11")
        #expect(self.runs(runs) == 3)
        #expect(try String(contentsOfFile: cache + "/slurm-node-address", encoding: .utf8) == "8 n2 10.250.13.11\n")
    }

    @Test func aFailedLookupIsNotRememberedAndADamagedCacheIsIgnored() throws {
        let (_, _, cache) = try scratch(address: "x")
        #expect(SlurmNodeAddress.lookup("n1", jobID: "7", cacheDirectory: cache, scontrol: "/bin/false") == nil)
        #expect(!FileManager.default.fileExists(atPath: cache + "/slurm-node-address"))
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        for damaged in ["7 n1 ", "7 n1 10.0.0.1", "7 n1 a b\n"] {
            try damaged.write(toFile: cache + "/slurm-node-address", atomically: true, encoding: .utf8)
            let (scontrol, runs, _) = try scratch(address: "10.0.0.2")
            #expect(SlurmNodeAddress.lookup("n1", jobID: "7", cacheDirectory: cache, scontrol: scontrol) == "10.0.0.2", "\(damaged)")
            #expect(self.runs(runs) == 1)
        }
    }
}
