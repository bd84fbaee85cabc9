import Topology

/// A job's control topology as Graphviz dot: boot-tree links solid, the binomial graph's other links dashed
/// grey, failed agents red, and the paths the controller reroutes over (blue, bold) to survivors whose
/// tree path to it runs through a failed agent.
enum JobTopologyPicture {
    static func dot(jobID: String, nodes: Int, fanout: Int, failed: Set<Int>) throws -> String {
        let tree = try BootTree(kind: .tree(arity: fanout), nodeCount: nodes + 1)
        let treeGraph = tree.graph()
        let bmg = try BinomialGraph(nodeCount: nodes + 1).graph()
        let rerouted = reroutedLinks(tree: tree, graph: treeGraph.union(bmg), failed: failed)
        var lines = ["graph \"\(jobID)\" {", "  node [shape=circle];"]
        for rank in 0...nodes {
            let label = rank == 0 ? "ctl" : "\(rank)"
            let style = failed.contains(rank) ? ", color=red, style=filled, fillcolor=red, fontcolor=white" : ""
            lines.append("  \(rank) [label=\"\(label)\"\(style)];")
        }
        for link in treeGraph.links {
            lines.append("  \(link.lower) -- \(link.upper)\(attributes(link, rerouted: rerouted, failed: failed, base: nil));")
        }
        for link in bmg.links where !treeGraph.hasLink(link.lower, link.upper) {
            lines.append("  \(link.lower) -- \(link.upper)\(attributes(link, rerouted: rerouted, failed: failed, base: "style=dashed, color=grey"));")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    private static func attributes(_ link: Link, rerouted: Set<Link>, failed: Set<Int>, base: String?) -> String {
        if rerouted.contains(link) { return " [color=blue, penwidth=2.5]" }
        if failed.contains(link.lower) || failed.contains(link.upper) { return " [style=dotted, color=red]" }
        return base.map { " [\($0)]" } ?? ""
    }

    /// Links on the shortest surviving paths from the controller to every survivor whose boot-tree path to
    /// it crosses a failed agent.
    static func reroutedLinks(tree: BootTree, graph: Graph, failed: Set<Int>) -> Set<Link> {
        guard !failed.isEmpty, !failed.contains(0) else { return [] }
        var previous = [Int](repeating: -1, count: graph.nodeCount)
        var seen = [Bool](repeating: false, count: graph.nodeCount)
        var queue = [0]
        seen[0] = true
        var head = 0
        while head < queue.count {
            let rank = queue[head]
            head += 1
            for neighbor in graph.neighbors(of: rank).map(Int.init) where !seen[neighbor] && !failed.contains(neighbor) {
                seen[neighbor] = true
                previous[neighbor] = rank
                queue.append(neighbor)
            }
        }
        var links = Set<Link>()
        for rank in 1..<graph.nodeCount where !failed.contains(rank) && seen[rank] {
            var ancestor = tree.parent(of: rank)
            var cut = false
            while let current = ancestor, current != 0 {
                if failed.contains(current) { cut = true; break }
                ancestor = tree.parent(of: current)
            }
            guard cut else { continue }
            var node = rank
            while previous[node] >= 0 {
                links.insert(Link(previous[node], node))
                node = previous[node]
            }
        }
        return links
    }
}
