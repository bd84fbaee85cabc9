import Foundation
import Testing
@testable import HostProcess
#if canImport(Glibc)
import Glibc
#endif

/// `ProcessSpawner.spawnBatch`: children started at once behave as if started one after another with
/// `spawnNow`, stopping at the first failure.
@Suite struct ProcessSpawnerBatchTests {
    private func request(_ command: String, environment: [String: String] = [:], extraFD: Int32 = -1) -> ProcessSpawner.Request {
        ProcessSpawner.Request(
            executable: "/bin/sh", arguments: ["-c", command], environment: environment.merging(["PATH": "/usr/bin:/bin"]) { mine, _ in mine },
            streams: .init(extraFD: extraFD), newProcessGroup: true, newSession: true, parentDeathSignal: SIGKILL)
    }

    @Test(.timeLimit(.minutes(1))) func everyChildGetsItsOwnArgumentsEnvironmentAndDescriptor() async throws {
        var pipes: [(read: Int32, write: Int32)] = []
        for _ in 0..<6 { pipes.append(try ProcessSpawner.makePipe()) }
        let requests = (0..<6).map { index in
            // Code, pid, and session id (field 6 of /proc/self/stat; the shell's name has no spaces).
            request("echo \"$CODE $$ $(cut -d' ' -f6 /proc/$$/stat)\" >&3; exit $CODE", environment: ["CODE": "\(index + 3)"],
                    extraFD: pipes[index].write)
        }
        let results = SpawnThread.shared.run { ProcessSpawner.spawnBatch(requests) }
        for pipe in pipes { close(pipe.write) }
        #expect(results.count == 6)
        for (index, result) in results.enumerated() {
            let pid = try result.get()
            #expect(await ChildReaper.shared.waitForExit(pid) == Int32(index + 3))
            let handle = FileHandle(fileDescriptor: pipes[index].read, closeOnDealloc: true)
            let line = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            // Its own session: the shell leads it.
            #expect(line == "\(index + 3) \(pid) \(pid)\n")
        }
    }

    @Test(.timeLimit(.minutes(1))) func aFailureEndsTheBatchAndWhatStartedAfterItIsTakenBack() async throws {
        let marker = "vhpc-batch-\(UUID().uuidString)"
        var requests = (0..<2).map { _ in request("exit 0") }
        requests.append(ProcessSpawner.Request(executable: "/nonexistent/\(marker)", arguments: [], environment: [:], newProcessGroup: true))
        requests += (0..<3).map { _ in request("exec sleep 30 \(marker)") }
        let batch = requests
        let results = SpawnThread.shared.run { ProcessSpawner.spawnBatch(batch) }
        #expect(results.count == 3, "results stop at the failed child")
        for result in results.prefix(2) { #expect(await ChildReaper.shared.waitForExit(try result.get()) == 0) }
        guard case .failure(let error) = results[2] else { Issue.record("the missing program started"); return }
        #expect(error.errorNumber == ENOENT)
        // The children after it were killed and reaped before the batch returned: none is left.
        let left = try FileManager.default.contentsOfDirectory(atPath: "/proc").filter { entry in
            guard Int(entry) != nil, let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8) else { return false }
            return command.contains(marker)
        }
        #expect(left.isEmpty)
    }

    @Test func anEmptyBatchStartsNothing() {
        #expect(ProcessSpawner.spawnBatch([]).isEmpty)
        #expect(ProcessSpawner.spawnBatches([[], []]).map(\.count) == [0, 0])
    }

    @Test(.timeLimit(.minutes(1))) func batchesStartedTogetherFailAlone() async throws {
        let marker = "vhpc-batches-\(UUID().uuidString)"
        let missing = ProcessSpawner.Request(executable: "/nonexistent/\(marker)", arguments: [], environment: [:], newProcessGroup: true)
        let batches: [[ProcessSpawner.Request]] = [
            [request("exit 3"), request("exit 4")],
            [request("exit 0"), missing, request("exec sleep 30 \(marker)")],
            [request("exit 5")],
        ]
        let results = SpawnThread.shared.run { ProcessSpawner.spawnBatches(batches) }
        #expect(results.map(\.count) == [2, 2, 1], "the middle batch stops at its missing program; the others do not")
        #expect(await ChildReaper.shared.waitForExit(try results[0][0].get()) == 3)
        #expect(await ChildReaper.shared.waitForExit(try results[0][1].get()) == 4)
        #expect(await ChildReaper.shared.waitForExit(try results[1][0].get()) == 0)
        guard case .failure(let error) = results[1][1] else { Issue.record("the missing program started"); return }
        #expect(error.errorNumber == ENOENT)
        #expect(await ChildReaper.shared.waitForExit(try results[2][0].get()) == 5)
        let left = try FileManager.default.contentsOfDirectory(atPath: "/proc").filter { entry in
            guard Int(entry) != nil, let command = try? String(contentsOfFile: "/proc/\(entry)/cmdline", encoding: .utf8) else { return false }
            return command.contains(marker)
        }
        #expect(left.isEmpty, "the child after the failed one was taken back")
    }

    /// The spawn thread starts the batches of many callers (a process's agents) together; each caller gets its
    /// own children, in its own order.
    @Test(.timeLimit(.minutes(1))) func concurrentCallersEachGetTheirOwnChildren() async throws {
        let outcomes = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
            for caller in 0..<16 {
                group.addTask {
                    let results = await SpawnThread.shared.spawnBatch([self.request("exit \(caller)"), self.request("exit \(caller + 100)")])
                    var codes: [Int32] = []
                    for result in results { codes.append(await ChildReaper.shared.waitForExit(try result.get())) }
                    return (caller, codes)
                }
            }
            var all: [Int: [Int32]] = [:]
            for try await (caller, codes) in group { all[caller] = codes }
            return all
        }
        #expect(outcomes.count == 16)
        for (caller, codes) in outcomes { #expect(codes == [Int32(caller), Int32(caller + 100)]) }
    }
}
