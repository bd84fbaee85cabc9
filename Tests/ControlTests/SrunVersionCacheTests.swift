import Foundation
import Launch
import Testing

@Suite struct SrunVersionCacheTests {
    /// A directory with an executable standing in for srun, and the cache directory next to it.
    private func scratch() throws -> (srun: String, cache: SrunVersionCache) {
        let base = FileManager.default.temporaryDirectory.path + "/srun-cache-\(getpid())-\(UInt32.random(in: 0..<UInt32.max))"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let srun = base + "/srun"
        try ExecutableScript.write(srun, "#!/bin/sh\necho 'slurm 22.05.8'\n")
        return (srun, SrunVersionCache(directory: base + "/cache"))
    }

    @Test func theVersionIsProbedOnceWhileSrunIsUnchanged() throws {
        let (srun, cache) = try scratch()
        var probes = 0
        let probe: (String) -> SrunCommand.Version? = { path in probes += 1; return SrunCommand.installedVersion(srun: path) }
        #expect(cache.version(of: srun, probe: probe) == SrunCommand.Version(major: 22, minor: 5))
        #expect(cache.version(of: srun, probe: probe) == SrunCommand.Version(major: 22, minor: 5))
        #expect(probes == 1)
        // A reinstalled srun (new inode and change time) is probed again, and its answer replaces the old one.
        let replacement = srun + ".new"
        try ExecutableScript.write(replacement, "#!/bin/sh\necho 'slurm-wlm 23.11.4'\n")
        #expect(rename(replacement, srun) == 0)
        #expect(cache.version(of: srun, probe: probe) == SrunCommand.Version(major: 23, minor: 11))
        #expect(probes == 2)
        #expect(cache.version(of: srun, probe: probe) == SrunCommand.Version(major: 23, minor: 11))
        #expect(probes == 2)
    }

    @Test func aDamagedCacheIsIgnoredAndRewritten() throws {
        let (srun, cache) = try scratch()
        try FileManager.default.createDirectory(atPath: cache.directory, withIntermediateDirectories: true)
        for damaged in ["", "22.05", "x.y whatever\n", "22.05 \(srun)"] {
            try damaged.write(toFile: cache.file, atomically: true, encoding: .utf8)
            var probes = 0
            #expect(cache.version(of: srun, probe: { probes += 1; return SrunCommand.installedVersion(srun: $0) })
                == SrunCommand.Version(major: 22, minor: 5))
            #expect(probes == 1, "cache text \(damaged.debugDescription)")
        }
        let rewritten = try String(contentsOfFile: cache.file, encoding: .utf8)
        #expect(rewritten.hasPrefix("22.5 ") && rewritten.hasSuffix(" \(srun)\n"))
    }

    @Test func anSrunThatCannotSayItsVersionIsNotRemembered() throws {
        let (srun, cache) = try scratch()
        #expect(cache.version(of: srun, probe: { _ in nil }) == nil)
        #expect(!FileManager.default.fileExists(atPath: cache.file))
        #expect(cache.version(of: srun + ".missing", probe: { _ in nil }) == nil)
    }
}
