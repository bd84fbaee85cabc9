import Glibc
import GuestProtocol

/// The agent inside every VM: speaks `GuestProtocol` over the virtio-serial port, runs commands with the
/// VSE's environment, streams their output, reports liveness, powers the VM off on request.
///
/// Single-threaded `poll(2)` loop; no Foundation so the initramfs stays small.
@main
struct GuestAgent {
    static let agentVersion = "1"
    static let portName = "org.vhpc.guest.0"

    static func main() {
        signal(SIGPIPE, SIG_IGN)
        let arguments = CommandLine.arguments
        let name = arguments.count > 2 && arguments[1] == "--port" ? arguments[2] : portName
        guard let port = VirtioPort.open(named: name) else {
            writeStderr("vhpc-guest: no virtio-serial port named \(name)\n")
            exit(2)
        }
        var loop = AgentLoop(port: port, environment: GuestEnvironment.load())
        loop.run()
    }
}

func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)
}
