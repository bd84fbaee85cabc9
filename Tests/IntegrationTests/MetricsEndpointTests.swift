import Foundation
import Testing

/// `vhpc run --metrics-listen`: a real job serves its counters in Prometheus's text format while it runs.
@Suite struct MetricsEndpointTests {
    /// `GET path` on loopback with a plain socket; returns the response (headers and body).
    static func get(port: Int, path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            response += buffer[0..<count]
        }
        return String(decoding: response, as: UTF8.self)
    }

    @Test func aRunningJobServesAgentTaskAndOutputCounters() throws {
        let process = try CLI.command(CLI.vhpc, ["run", "-N", "3", "--metrics-listen", "0", "--", "sh", "-c", "echo hello; sleep 3"]).start()
        defer { process.signal(SIGTERM); _ = process.wait() }
        // The first stderr line names the endpoint.
        let announced = process.firstStderrLine() ?? ""
        let port = try #require(announced.split(separator: ":").last.flatMap { Int($0.split(separator: "/").first ?? "") },
                                "\(announced)")
        var body = ""
        // Every task's line, once each has come in (each arrives on its own), and the agents, counted once the
        // job is wired: the tasks start when every agent has joined the tree, so their output may come first.
        for _ in 0..<40 where !(body.contains("vhpc_task_output_bytes_total{stream=\"stdout\"} 18") && body.contains("vhpc_job_agents 4")) {
            usleep(100_000)
            body = (try? Self.get(port: port, path: "/metrics")) ?? ""
        }
        #expect(body.hasPrefix("HTTP/1.1 200"), "\(body)")
        #expect(body.contains("vhpc_job_agents 4"), "controller and 3 agents: \(body)")
        #expect(body.contains("vhpc_job_tasks 3"), "\(body)")
        #expect(body.contains("vhpc_task_output_bytes_total{stream=\"stdout\"} 18"), "3 x 'hello\\n': \(body)")
        #expect(try Self.get(port: port, path: "/other").hasPrefix("HTTP/1.1 404"))
        #expect(process.wait().status == 0)
    }

    @Test func aBadListenAddressIsOneClearLine() throws {
        let result = try CLI.run(["run", "-N", "1", "--metrics-listen", "nope", "--", "true"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--metrics-listen: 'nope' is not [ADDR:]PORT"), "\(result.stderr)")
    }
}
