import Testing
@testable import V2M

@Suite("VM lifecycle state machine")
struct VMLifecycleTests {
    @Test("the normal path: start, boot, pause, resume, stop, exit")
    func happyPath() throws {
        var vm = VMLifecycle(vmName: "a")
        #expect(try vm.begin(.start) == [.stateChanged(vm: "a", from: .defined, to: .starting)])
        #expect(vm.observe(.bootCompleted) == [.stateChanged(vm: "a", from: .starting, to: .running)])
        #expect(try vm.begin(.pause) == [])
        #expect(vm.state == .running)
        #expect(vm.observe(.paused) == [.stateChanged(vm: "a", from: .running, to: .paused)])
        #expect(try vm.begin(.resume) == [])
        #expect(vm.observe(.resumed) == [.stateChanged(vm: "a", from: .paused, to: .running)])
        #expect(try vm.begin(.stop) == [.stateChanged(vm: "a", from: .running, to: .stopping)])
        #expect(vm.observe(.processExited(reason: "powered off")) ==
                [.stateChanged(vm: "a", from: .stopping, to: .stopped), .exited(vm: "a")])
        #expect(try vm.begin(.start) == [.stateChanged(vm: "a", from: .stopped, to: .starting)])
    }

    @Test("illegal transitions throw and leave the state unchanged",
          arguments: [
            (VMState.defined, VMLifecycle.Operation.pause), (.defined, .resume), (.defined, .stop), (.defined, .migrate),
            (.running, .resume), (.running, .start), (.paused, .pause), (.paused, .start),
            (.stopped, .pause), (.stopped, .stop), (.crashed, .resume), (.stopping, .start), (.starting, .pause),
          ])
    func illegal(state: VMState, operation: VMLifecycle.Operation) {
        var vm = VMLifecycle(vmName: "b", state: state)
        #expect(throws: V2MError.illegalTransition(vm: "b", from: state, operation: operation.description)) {
            try vm.begin(operation)
        }
        #expect(vm.state == state)
        #expect(!vm.allows(operation))
    }

    @Test("an unexpected exit is a crash with its reason", arguments: [VMState.starting, .running, .paused])
    func crash(state: VMState) {
        var vm = VMLifecycle(vmName: "c", state: state)
        let events = vm.observe(.processExited(reason: "killed by signal 9"))
        #expect(vm.state == .crashed)
        #expect(events.contains(.crashed(vm: "c", reason: "killed by signal 9")))
    }

    @Test("force stop is allowed from every active state", arguments: [VMState.starting, .running, .paused, .stopping])
    func forceStop(state: VMState) throws {
        var vm = VMLifecycle(vmName: "d", state: state)
        _ = try vm.begin(.forceStop)
        #expect(vm.state == .stopping)
        _ = vm.observe(.processExited(reason: "killed"))
        #expect(vm.state == .stopped)
    }

    @Test("observations that do not fit the state are ignored")
    func strayObservations() {
        var vm = VMLifecycle(vmName: "e", state: .stopped)
        #expect(vm.observe(.paused) == [])
        #expect(vm.observe(.bootCompleted) == [])
        #expect(vm.observe(.processExited(reason: "x")) == [])
        #expect(vm.state == .stopped)
    }

    @Test("a failed start is a crash")
    func startFailed() throws {
        var vm = VMLifecycle(vmName: "f")
        _ = try vm.begin(.start)
        #expect(vm.observe(.startFailed(reason: "no kernel")).last == .crashed(vm: "f", reason: "no kernel"))
        #expect(vm.state == .crashed)
    }
}
