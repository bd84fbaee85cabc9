import ArgumentParser
import Topology

/// `vhpc topology`: builds a topology, applies failures, and prints its figures as a table or JSON, or draws it (dot, SVG).
struct TopologyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topology",
        abstract: "Show a topology, its routes and its failure behaviour.",
        discussion: """
            Ranks are 0..N-1; rank 0 is the controller. Kinds: tree:K (k-ary tree, tree:1 is a chain, \
            tree:2 the binary boot tree), binomial (binomial tree), bmg (binomial graph), mesh (full mesh, \
            at most \(TopologyKind.maximumMeshNodeCount) ranks), ring.

            --fail takes ranks and links, comma-separated: --fail 3,17,5-9 fails ranks 3 and 17 and the \
            link between 5 and 9. --fail-random F fails F ranks chosen with the seeded generator: F < 1 \
            is a fraction of N (0.01 = 1 %, rounded to the nearest rank), a whole number F >= 1 is a \
            count. Random failures never pick rank 0.

            Edges, degrees and depth describe the full topology; diameter, connected and unreachable \
            describe the survivors: diameter is that of the part still reachable from rank 0, \
            'connected' means every survivor reaches every other, 'unreachable' lists survivors cut off \
            from rank 0. The diameter is exact unless the table says 'at least' (JSON: diameter_exact \
            false), which happens only for large graphs with failures where an all-pairs search is \
            too costly.
            """
    )

    /// Output formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, dot, svg
    }

    @Option(name: .long, help: "Topology kind: tree:K, binomial, bmg, mesh or ring.")
    var kind: String

    @Option(name: [.customShort("n"), .customLong("nodes")], help: "Number of ranks (including the controller, rank 0).")
    var nodes: Int

    @Option(name: .long, help: "Ranks (R) and links (A-B) to fail, comma-separated.")
    var fail: String?

    @Option(name: .customLong("fail-random"), help: "Fail random ranks: a fraction (< 1) of N, or a count (whole number >= 1).")
    var failRandom: Double?

    @Option(name: .long, help: "Seed for --fail-random.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Output format: table, json, dot or svg (drawn by Graphviz).")
    var format: Format = .table

    func validate() throws {
        _ = try resolve()
    }

    func run() async throws {
        let (kind, failures) = try resolve()
        let graph: Graph
        let summary: TopologySummary
        do {
            graph = try kind.makeGraph(nodeCount: nodes)
            summary = try TopologySummary(kind: kind, graph: graph, failures: failures)
        } catch {
            throw ValidationError(error.description)
        }
        let seedShown = failRandom == nil ? nil : seed
        switch format {
        case .table: print(TopologyRenderer.table(summary, seed: seedShown), terminator: "")
        case .json: print(TopologyRenderer.json(summary, seed: seedShown))
        case .dot: print(TopologyRenderer.dot(graph: graph, summary: summary), terminator: "")
        case .svg: print(try GraphvizRenderer.svg(fromDot: TopologyRenderer.dot(graph: graph, summary: summary)), terminator: "")
        }
    }

    /// Parses and checks every option; each problem becomes one `ValidationError` line naming its cause.
    private func resolve() throws -> (TopologyKind, FailureSet) {
        do {
            let kind = try TopologyKind.parse(kind)
            guard nodes >= 1 else { throw TopologyError.invalidNodeCount(nodes) }
            if kind == .mesh, nodes > TopologyKind.maximumMeshNodeCount {
                throw TopologyError.meshTooLarge(nodeCount: nodes, limit: TopologyKind.maximumMeshNodeCount)
            }
            if fail != nil, failRandom != nil {
                throw ValidationError("use either --fail or --fail-random, not both")
            }
            var failures = FailureSet.none
            if let fail { failures = try FailureListParser.parse(fail) }
            if let failRandom {
                let count = try FailureListParser.randomCount(failRandom, nodeCount: nodes)
                var generator = SplitMix64(seed: seed)
                failures = try FailureSet.random(count: count, nodeCount: nodes, using: &generator)
            }
            try failures.validate(nodeCount: nodes)
            return (kind, failures)
        } catch let error as TopologyError {
            throw ValidationError(error.description)
        }
    }
}
