import Topology

/// Renders a topology summary as an aligned table, JSON, or Graphviz DOT.
enum TopologyRenderer {
    /// Longest rank list printed in the table before eliding.
    static let listLimit = 32

    static func table(_ summary: TopologySummary, seed: UInt64?) -> String {
        var rows: [(String, String)] = [
            ("kind", summary.kind.description),
            ("nodes", "\(summary.nodeCount)"),
            ("edges", "\(summary.linkCount)"),
            ("degree", summary.minimumDegree == summary.maximumDegree
                ? "\(summary.minimumDegree)" : "\(summary.minimumDegree)..\(summary.maximumDegree)"),
        ]
        if let depth = summary.depth { rows.append(("depth", "\(depth)")) }
        rows.append(("diameter", diameterText(summary.diameter)))
        rows.append(("failed", countedList(summary.failedNodes)))
        if !summary.failedLinks.isEmpty {
            rows.append(("failed links", "\(summary.failedLinks.count): " + summary.failedLinks.map(\.description).joined(separator: ", ")))
        }
        if let seed { rows.append(("seed", "\(seed)")) }
        rows.append(("connected", summary.isConnected ? "yes" : "no"))
        rows.append(("unreachable", countedList(summary.unreachable)))
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + "  " + $0.1 + "\n" }.joined()
    }

    static func json(_ summary: TopologySummary, seed: UInt64?) -> String {
        var fields: [(String, String)] = [
            ("kind", "\"\(summary.kind.description)\""),
            ("nodes", "\(summary.nodeCount)"),
            ("edges", "\(summary.linkCount)"),
            ("degree_min", "\(summary.minimumDegree)"),
            ("degree_max", "\(summary.maximumDegree)"),
        ]
        if let diameter = summary.diameter {
            fields.append(("diameter", "\(diameter.lowerBound)"))
            fields.append(("diameter_exact", "\(diameter.isExact)"))
            if !diameter.isExact { fields.append(("diameter_upper_bound", "\(diameter.upperBound)")) }
        } else {
            fields.append(("diameter", "null"))
        }
        if let depth = summary.depth { fields.append(("depth", "\(depth)")) }
        fields.append(("failed", intArray(summary.failedNodes)))
        if !summary.failedLinks.isEmpty {
            fields.append(("failed_links", "[" + summary.failedLinks.map { "[\($0.lower),\($0.upper)]" }.joined(separator: ",") + "]"))
        }
        if let seed { fields.append(("seed", "\(seed)")) }
        fields.append(("connected", "\(summary.isConnected)"))
        fields.append(("unreachable", intArray(summary.unreachable)))
        return "{\n" + fields.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}"
    }

    /// Failed ranks red, survivors cut off from rank 0 grey, links touching a failure dashed (failed links red).
    static func dot(graph: Graph, summary: TopologySummary) -> String {
        let failed = Set(summary.failedNodes)
        let unreachable = Set(summary.unreachable)
        let failedLinks = Set(summary.failedLinks)
        var lines = ["graph \"\(summary.kind.description) n=\(summary.nodeCount)\" {", "  node [shape=circle];"]
        for rank in 0..<graph.nodeCount {
            if failed.contains(rank) {
                lines.append("  \(rank) [color=red, style=filled, fillcolor=red, fontcolor=white];")
            } else if unreachable.contains(rank) {
                lines.append("  \(rank) [style=filled, fillcolor=lightgrey];")
            } else {
                lines.append("  \(rank);")
            }
        }
        for link in graph.links {
            if failedLinks.contains(link) {
                lines.append("  \(link.lower) -- \(link.upper) [color=red, style=dashed];")
            } else if failed.contains(link.lower) || failed.contains(link.upper) {
                lines.append("  \(link.lower) -- \(link.upper) [style=dashed, color=grey];")
            } else {
                lines.append("  \(link.lower) -- \(link.upper);")
            }
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func diameterText(_ diameter: Diameter?) -> String {
        guard let diameter else { return "none (rank 0 failed)" }
        if diameter.isExact { return "\(diameter.lowerBound)" }
        return "at least \(diameter.lowerBound), at most \(diameter.upperBound) (sampled: graph too large for all pairs)"
    }

    private static func countedList(_ ranks: [Int]) -> String {
        guard !ranks.isEmpty else { return "0" }
        let shown = ranks.prefix(listLimit).map(String.init).joined(separator: ", ")
        return "\(ranks.count): " + shown + (ranks.count > listLimit ? ", …" : "")
    }

    private static func intArray(_ values: [Int]) -> String {
        "[" + values.map(String.init).joined(separator: ",") + "]"
    }
}
