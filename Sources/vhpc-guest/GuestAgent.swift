import Glibc
import GuestCrypto
import GuestProtocol

/// The agent inside every VM, a leaf of its job's control plane: speaks the Wire protocol (handshake under
/// the job secret, sealed frames) over the virtio-serial port to its tool agent, runs commands with the
/// VSE's environment, streams their output, reports liveness, powers the VM off on request.
///
/// Single-threaded `poll(2)` loop; no Foundation so the initramfs stays small.
@main
struct GuestAgent {
    /// 2: takes on a new identity when restored from a snapshot (``CredentialsWatch``).
    static let agentVersion = "2"
    static let portName = "org.vhpc.guest.0"

    static func main() {
        signal(SIGPIPE, SIG_IGN)
        let arguments = CommandLine.arguments
        let name = arguments.count > 2 && arguments[1] == "--port" ? arguments[2] : portName
        guard let port = VirtioPort.open(named: name) else {
            writeStderr("vhpc-guest: no virtio-serial port named \(name)\n")
            exit(2)
        }
        guard let (credentials, text) = loadCredentials() else { exit(2) }
        var link = GuestLinkEndpoint(credentials: credentials, crypto: OpenSSLWireCryptography())
        let watch = CredentialsWatch(loaded: text)
        link.onNewHost = { watch.check() }
        var loop = AgentLoop(port: port, environment: GuestEnvironment.load(), link: link)
        loop.run()
    }
}

/// The job id, rank and secret the host put in fw_cfg (see `GuestCredentials`); the sysfs file appears once
/// the qemu_fw_cfg module has probed.
func loadCredentials() -> (GuestCredentials, String)? {
    for _ in 0..<100 {
        if let text = readSmallFile(GuestCredentials.guestPath) {
            do {
                return (try GuestCredentials(fileContents: text), text)
            } catch {
                writeStderr("vhpc-guest: \(GuestCredentials.guestPath): \(error)\n")
                return nil
            }
        }
        usleep(20_000)
    }
    writeStderr("vhpc-guest: no credentials at \(GuestCredentials.guestPath) (QEMU's -fw_cfg name=\(GuestCredentials.firmwareConfigName) and module qemu_fw_cfg)\n")
    return nil
}

func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)
}
