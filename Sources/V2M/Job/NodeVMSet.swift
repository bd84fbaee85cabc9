import GuestProtocol
import Logging
import VSE

/// The VMs one node runs for a job — what a tool agent drives: plan profiles from the allocation, boot
/// them in parallel, run the application in each, stop them all.
///
/// ```swift
/// let (hypervisor, why) = try await HypervisorSelector(state: state, probeImage: image).select(.auto)
/// let set = try NodeVMSet.plan(hypervisor: hypervisor, image: image, node: allocation, nodeIndex: rank,
///                              layout: .onePerCore, jobID: job, runtimeParent: state.vms)
/// try await set.startAll()                       // all guests ready, or all stopped and an error
/// let statuses = try await set.execAll(argv) { vm, stream, bytes in … }
/// await set.stopAll()
/// ```
public final class NodeVMSet: Sendable {
    public let vms: [VirtualMachine]

    public init(vms: [VirtualMachine]) {
        self.vms = vms
    }

    /// Plans the node's profiles (`ProfilePlanner`) and defines one VM per profile, after `customize` has
    /// adapted each (by index: kernel arguments, NICs of a job network).
    public static func plan(hypervisor: any Hypervisor, image: ImageEntry, node: NodeAllocation, nodeIndex: Int,
                            layout: ProfilePlanner.Layout, jobID: String, runtimeParent: String,
                            planner: ProfilePlanner = ProfilePlanner(),
                            customize: (Int, inout VMProfile) -> Void = { _, _ in }) throws(V2MError) -> NodeVMSet {
        let profiles = try planner.plan(image: image, node: node, nodeIndex: nodeIndex, layout: layout, jobID: jobID,
                                        runtimeParent: runtimeParent)
        var vms: [VirtualMachine] = []
        for (index, var profile) in profiles.enumerated() {
            customize(index, &profile)
            vms.append(try hypervisor.define(profile))
        }
        return NodeVMSet(vms: vms)
    }

    /// Boots every VM concurrently. If any fails, the others are force-stopped and the first error thrown.
    public func startAll() async throws {
        let failure: (any Error)? = await withTaskGroup(of: (any Error)?.self) { group in
            for vm in vms {
                group.addTask {
                    do { try await vm.start(); return nil } catch { return error }
                }
            }
            var first: (any Error)?
            for await error in group where first == nil { first = error }
            return first
        }
        if let failure {
            await stopAll(force: true)
            throw failure
        }
    }

    /// Runs `argv` in every VM concurrently; returns each VM's exit status, in `vms` order.
    public func execAll(_ argv: [String], environment: [String] = [],
                        onOutput: @escaping @Sendable (String, GuestMessage.OutputStream, [UInt8]) -> Void) async throws -> [Int32] {
        try await withThrowingTaskGroup(of: (Int, Int32).self) { group in
            for (index, vm) in vms.enumerated() {
                group.addTask {
                    let status = try await vm.exec(argv, environment: environment) { stream, bytes in
                        onOutput(vm.name, stream, bytes)
                    }
                    return (index, status)
                }
            }
            var statuses = [Int32](repeating: 0, count: vms.count)
            for try await (index, status) in group { statuses[index] = status }
            return statuses
        }
    }

    /// Stops every active VM concurrently (gracefully unless `force`), ignoring individual failures.
    public func stopAll(force: Bool = false, timeout: Duration = .seconds(10)) async {
        await withTaskGroup(of: Void.self) { group in
            for vm in vms where vm.currentState.isActive {
                group.addTask { _ = try? await vm.stop(timeout: timeout, force: force) }
            }
        }
    }
}
