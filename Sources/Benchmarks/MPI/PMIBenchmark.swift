import Control
import Foundation
import HostProcess
import TextReport

/// `vhpc bench pmi`: a large PMI-1 exchange over the tree. Every rank of a `vhpc run -N NODES -n RANKS` job runs a
/// small PMI-1 client (C, built here with `cc`) that puts a value of `--value-bytes`, enters the barrier
/// (fence), gets its neighbour's value and checks it. The fence's latency is from the last rank entering it to
/// the first rank let out (the node fences up the tree, the release down); the last rank out adds the time
/// this machine takes to schedule every rank once (thousands of processes on a few cores). Its bytes are what
/// the release carries down to every node.
public struct PMIBenchmark: Sendable {
    public var ranks: Int
    public var nodes: Int
    public var agentsPerProcess: Int
    public var heartbeat: String
    public var valueBytes: Int
    public var runs: Int
    public var timeout: Int

    public init(ranks: Int, nodes: Int, agentsPerProcess: Int, heartbeat: String, valueBytes: Int, runs: Int, timeout: Int) {
        self.ranks = ranks
        self.nodes = nodes
        self.agentsPerProcess = agentsPerProcess
        self.heartbeat = heartbeat
        self.valueBytes = valueBytes
        self.runs = runs
        self.timeout = timeout
    }

    static let client = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <time.h>
        #include <unistd.h>
        static int fd; static char in[65536]; static size_t have;
        static void say(const char *line) { size_t n = strlen(line), done = 0; while (done < n) { ssize_t w = write(fd, line + done, n - done); if (w <= 0) exit(2); done += (size_t)w; } }
        static void hear(char *out, size_t size) {
            for (;;) {
                char *end = memchr(in, '\\n', have);
                if (end) { size_t len = (size_t)(end - in); if (len >= size) len = size - 1; memcpy(out, in, len); out[len] = 0;
                           have -= (size_t)(end - in) + 1; memmove(in, end + 1, have); return; }
                ssize_t r = read(fd, in + have, sizeof in - have); if (r <= 0) exit(3); have += (size_t)r;
            }
        }
        static long long micros(void) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t); return t.tv_sec * 1000000LL + t.tv_nsec / 1000; }
        int main(int argc, char **argv) {
            fd = atoi(getenv("PMI_FD")); int rank = atoi(getenv("PMI_RANK")), size = atoi(getenv("PMI_SIZE"));
            int bytes = argc > 1 ? atoi(argv[1]) : 64; char line[8192], value[4096], kvs[300], expect[64];
            say("cmd=init pmi_version=1 pmi_subversion=1\\n"); hear(line, sizeof line);
            say("cmd=get_my_kvsname\\n"); hear(line, sizeof line);
            char *name = strstr(line, "kvsname="); snprintf(kvs, sizeof kvs, "%s", name ? strtok(name + 8, " ") : "kvs");
            int n = snprintf(value, sizeof value, "v%d-", rank); while (n < bytes && n < (int)sizeof value - 1) value[n++] = 'x'; value[n] = 0;
            snprintf(line, sizeof line, "cmd=put kvsname=%s key=k%d value=%s\\n", kvs, rank, value); say(line); hear(line, sizeof line);
            long long entered = micros(); say("cmd=barrier_in\\n"); hear(line, sizeof line); long long left = micros();
            int peer = (rank + 1) % size;
            snprintf(line, sizeof line, "cmd=get kvsname=%s key=k%d\\n", kvs, peer); say(line); hear(line, sizeof line);
            snprintf(expect, sizeof expect, "value=v%d-", peer); int ok = strstr(line, expect) != NULL;
            say("cmd=finalize\\n"); hear(value, sizeof value);
            printf("fence %lld %lld %d\\n", entered, left, ok);
            return ok ? 0 : 1;
        }
        """

    public func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        ProcessSpawner.becomeSubreaper()
        defer { try? FileManager.default.removeItem(atPath: BenchLaunch.buildDirectory) }
        guard let client = BenchLaunch.compile(Self.client, name: "pmi-client", with: "/usr/bin/cc") else {
            throw BenchmarkError("bench pmi: cannot build the PMI-1 client (apt-get install -y gcc)")
        }
        // What the release carries: every rank's entry (two length prefixes, key, value).
        let entryBytes = (0..<ranks).reduce(0) { $0 + 8 + "k\($1)".utf8.count + max(valueBytes, "v\($1)-".utf8.count) }
        var rows = [["RUN", "RANKS", "NODES", "JOB", "FENCE (last in -> first out)", "PER RANK", "LAST OUT", "RELEASE BYTES", "CHECKS"]]
        var fences: [Duration] = []
        for run in 1...runs {
            let outcome = await BenchLaunch.run(
                BenchLaunch.vhpc, ["run", "-N", "\(nodes)", "-n", "\(ranks)", "--mpi", "pmi1", "--heartbeat", heartbeat,
                                     "--agents-per-process", "\(agentsPerProcess)", "--", client, "\(valueBytes)"],
                timeout: .seconds(timeout))
            let samples = outcome.stdout.split(separator: "\n").compactMap { line -> (Int64, Int64, Bool)? in
                let fields = line.split(separator: " ")
                guard fields.count == 4, fields[0] == "fence", let entered = Int64(fields[1]), let left = Int64(fields[2]) else { return nil }
                return (entered, left, fields[3] == "1")
            }
            let good = outcome.status == 0 && samples.count == ranks && samples.allSatisfy(\.2)
            var fenceText = "failed (exit \(outcome.status), \(samples.count) of \(ranks) ranks reported)"
            var perRank = "-", lastOutText = "-"
            if good, let lastIn = samples.map(\.0).max(), let firstOut = samples.map(\.1).min(), let lastOut = samples.map(\.1).max() {
                let fence = Duration.microseconds(firstOut - lastIn)
                fences.append(fence)
                fenceText = String(format: "%.0f ms", fence.seconds * 1000)
                perRank = String(format: "%.1f µs", fence.seconds * 1e6 / Double(ranks))
                lastOutText = String(format: "%.0f ms", Double(lastOut - lastIn) / 1000)
            }
            rows.append(["\(run)", "\(ranks)", "\(nodes)", String(format: "%.2f s", outcome.elapsed.seconds), fenceText, perRank,
                         lastOutText, "\(entryBytes)", good ? "\(ranks)/\(ranks) gets right" : "FAILED"])
            print(rows.last!.joined(separator: "  "))
        }
        print("")
        print(TextTable.render(rows))
        if let median = BenchLaunch.median(fences) {
            print(String(format: "median fence (last in -> first out): %.0f ms for %d ranks on %d nodes, %d bytes released to every node (target: under 1 s)",
                         median.seconds * 1000, ranks, nodes, entryBytes))
        }
    }
}
