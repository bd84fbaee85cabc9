import Foundation
import GuestProtocol
import Logging
import Synchronization
import Testing
import V2M
import VSE

@Suite("V2M QuickBoot", .serialized)
struct V2MQuickBootTests {
    @Test("boots an image, runs a command, streams its output, returns its status, cleans up")
    func runsCommand() async throws {
        let image = try #require(V2MTestImage.find(), "no test image (build one with `vhpc vse build examples/tiny.yaml`)")
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        var options = QuickBoot.Options()
        options.state = state
        let collected = Mutex<[UInt8]>([])
        let errors = Mutex<[UInt8]>([])
        let result = try await QuickBoot.run(
            image: image, argv: ["sh", "-c", "echo hello from $(uname -r); echo oops >&2; exit 7"],
            timeout: .seconds(60), accelerator: V2MTestImage.accelerator, options: options,
            onOutput: { stream, bytes in
                if stream == .stdout { collected.withLock { $0 += bytes } } else { errors.withLock { $0 += bytes } }
            }, logger: Logger(label: "test"))
        #expect(result.exitStatus == 7)
        #expect(String(decoding: collected.withLock { $0 }, as: UTF8.self) == "hello from \(image.manifest.kernelRelease)\n")
        #expect(String(decoding: errors.withLock { $0 }, as: UTF8.self) == "oops\n")
        #expect(result.gracefulShutdown)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: state.tmp)) ?? []
        #expect(leftovers.isEmpty, "runtime files left: \(leftovers)")
        #expect(V2MLeftovers.qemuProcesses(mentioning: state.root).isEmpty)
    }

    @Test("a command the guest cannot start is a guestExecFailed error")
    func execFailure() async throws {
        let image = try #require(V2MTestImage.find())
        let state = V2MTestImage.scratchState()
        defer { try? FileManager.default.removeItem(atPath: state.root) }
        var options = QuickBoot.Options()
        options.state = state
        await #expect(throws: V2MError.self) {
            _ = try await QuickBoot.run(image: image, argv: ["/no/such/program"], accelerator: V2MTestImage.accelerator,
                                        options: options, onOutput: { _, _ in }, logger: Logger(label: "test"))
        }
    }

    @Test("qemu missing from PATH is a clear error naming it")
    func qemuMissing() async throws {
        let image = try #require(V2MTestImage.find())
        var options = QuickBoot.Options()
        options.searchPath = "/nonexistent"
        do {
            _ = try await QuickBoot.run(image: image, argv: ["true"], accelerator: .tcg, options: options,
                                        onOutput: { _, _ in }, logger: Logger(label: "test"))
            Issue.record("expected an error")
        } catch let error as V2MError {
            #expect(error == .executableMissing("qemu-system-x86_64", searchPath: "/nonexistent"))
            #expect(error.description.contains("qemu-system-x86_64 not found"))
        }
    }
}
