import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// `vhpc jobs`, `vhpc status` and pictures, against real jobs recorded in a private VHPC_HOME.
@Suite(.serialized) struct JobHistoryCLITests {
    struct JobList: Decodable {
        var schema: Int
        var jobs: [Job]
    }

    struct Job: Decodable {
        var id: String
        var name: String?
        var state: String
        var exitCode: Int32?
        var nodes: Int
        var tasks: Int
        var elapsedSeconds: Double
    }

    struct Detail: Decodable {
        var schema: Int
        var job: Job
        var agents: [Agent]
    }

    struct Agent: Decodable { var rank: Int; var pid: Int32 }
    struct Task: Decodable, Equatable { var rank: Int; var node: Int; var exitCode: Int32?; var signal: Int32? }
    struct Tasks: Decodable { var tasks: [Task] }

    static func home() -> String {
        let path = NSTemporaryDirectory() + "vhpc-history-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func finishedJobsAreListedWithStateExitAndElapsedTime() throws {
        let home = Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let env = ["VHPC_HOME": home]
        #expect(try CLI.run(["run", "-N", "2", "-J", "good", "--", "true"], environment: env).status == 0)
        let bad = try CLI.run(["run", "-N", "2", "--job-name", "bad", "--", "sh", "-c", "exit 3"], environment: env)
        #expect(bad.status == 3)

        let listed = try CLI.run(["jobs", "--json"], environment: env)
        #expect(listed.status == 0, "\(listed.stderr)")
        let list = try JSONDecoder().decode(JobList.self, from: Data(listed.stdout.utf8))
        #expect(list.schema == 1)
        #expect(list.jobs.map(\.name) == ["bad", "good"], "newest first")
        #expect(list.jobs.map(\.state) == ["failed", "completed"])
        #expect(list.jobs.map(\.exitCode) == [3, 0])
        #expect(list.jobs.allSatisfy { $0.elapsedSeconds > 0 && $0.nodes == 2 })

        let shown = try CLI.run(["status", "good", "--json"], environment: env)
        let detail = try JSONDecoder().decode(Detail.self, from: Data(shown.stdout.utf8))
        #expect(detail.job.state == "completed")
        #expect(detail.agents.map(\.rank) == [0, 1, 2], "\(shown.stdout)")

        let text = try CLI.run(["status", "bad"], environment: env)
        #expect(text.stdout.contains("failed, exit 3"), "\(text.stdout)")
        let table = try CLI.run(["jobs"], environment: env)
        #expect(table.stdout.split(separator: "\n").first?.contains("ELAPSED") == true)

        // Per-task outcomes: an exit code, or the signal that ended the task.
        let mixed = try CLI.run(["run", "-N", "2", "-K", "0", "-J", "mixed", "--", "sh", "-c",
                                 "[ $VHPC_RANK = 1 ] && kill -SEGV $$; exit 0"], environment: env)
        #expect(mixed.status == 139, "\(mixed.stderr)")
        let tasks = try JSONDecoder().decode(Tasks.self, from: Data(try CLI.run(["status", "mixed", "--json"], environment: env).stdout.utf8))
        #expect(tasks.tasks == [Task(rank: 0, node: 1, exitCode: 0, signal: nil), Task(rank: 1, node: 2, exitCode: nil, signal: 11)])
        #expect(try CLI.run(["status", "mixed"], environment: env).stdout.contains("signal 11 (SIGSEGV)"))

        let missing = try CLI.run(["status", "no-such-job"], environment: env)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no such job: no-such-job"), "\(missing.stderr)")
    }

    @Test func aJobWhoseFrontEndWasKilledIsShownLost() throws {
        let home = Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let process = try CLI.command(CLI.vhpc, ["run", "-N", "1", "-J", "victim", "--", "sleep", "30"], environment: ["VHPC_HOME": home]).start()
        var running = false
        var last = CLI.Result(status: 0, stdout: "", stderr: "")
        for _ in 0..<200 where !running {
            usleep(50_000)
            last = try CLI.run(["status", "victim", "--json"], environment: ["VHPC_HOME": home])
            running = (try? JSONDecoder().decode(Detail.self, from: Data(last.stdout.utf8)))?.job.state == "running"
        }
        #expect(running, """
            the job never showed as running; last status: \(last.status) \(last.stdout) \(last.stderr); \
            front-end alive: \(process.isRunning); its stderr: \(process.stderrSoFar)
            """)
        let agents = (try? JSONDecoder().decode(Detail.self, from: Data(
            try CLI.run(["status", "victim", "--json"], environment: ["VHPC_HOME": home]).stdout.utf8)))?.agents ?? []
        process.signal(SIGKILL)
        _ = process.wait()
        // The front-end's agents and the task are its children: clean them up by pid.
        for agent in agents where agent.rank > 0 { kill(-agent.pid, SIGKILL); kill(agent.pid, SIGKILL) }
        let shown = try CLI.run(["status", "victim", "--json"], environment: ["VHPC_HOME": home])
        #expect(try JSONDecoder().decode(Detail.self, from: Data(shown.stdout.utf8)).job.state == "lost")
    }

    @Test func statusAndTopologyDrawSVGWithGraphviz() throws {
        let home = Self.home()
        defer { try? FileManager.default.removeItem(atPath: home) }
        #expect(try CLI.run(["run", "-N", "6", "-J", "pic", "--", "true"], environment: ["VHPC_HOME": home]).status == 0)
        let job = try CLI.run(["status", "pic", "--format", "svg"], environment: ["VHPC_HOME": home])
        #expect(job.status == 0, "\(job.stderr)")
        let jobSVG = try SVGSummary(job.stdout)
        #expect(jobSVG.nodeTitles == Set(["0", "1", "2", "3", "4", "5", "6"]))

        let topology = try CLI.run(["topology", "--kind", "bmg", "-n", "8", "--fail", "3", "--format", "svg"])
        #expect(topology.status == 0, "\(topology.stderr)")
        let svg = try SVGSummary(topology.stdout)
        #expect(svg.nodeTitles.count == 8)
        #expect(svg.redFilledNodes == ["3"], "the failed rank is drawn red")
    }

    @Test func versionIsPrinted() throws {
        let result = try CLI.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("vhpc "), "\(result.stdout)")
    }
}

/// What an SVG drawn by Graphviz shows: node titles, and which nodes are filled red.
final class SVGSummary: NSObject, XMLParserDelegate {
    private(set) var nodeTitles: Set<String> = []
    private(set) var redFilledNodes: Set<String> = []
    private var inNode = false
    private var inTitle = false
    private var title = ""
    private var currentNodeRed = false

    init(_ text: String) throws {
        super.init()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = self
        guard parser.parse() else { throw CocoaError(.fileReadCorruptFile) }
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if name == "g", attributes["class"] == "node" { inNode = true; currentNodeRed = false; title = "" }
        if inNode, name == "title" { inTitle = true }
        if inNode, ["ellipse", "polygon"].contains(name), attributes["fill"] == "red" { currentNodeRed = true }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inTitle { title += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "title" { inTitle = false }
        if name == "g", inNode {
            nodeTitles.insert(title)
            if currentNodeRed { redFilledNodes.insert(title) }
            inNode = false
        }
    }
}
