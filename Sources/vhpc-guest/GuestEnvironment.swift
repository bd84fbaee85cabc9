import Glibc

/// What the image tells the agent: the VSE name and the environment applications run with.
///
/// Written by the VSE builder: `/etc/vhpc/vse-name` and `/etc/vhpc/environment` (`KEY=VALUE` lines).
struct GuestEnvironment {
    var vseName: String
    var variables: [String]

    static func load() -> GuestEnvironment {
        let name = readSmallFile("/etc/vhpc/vse-name")?.trimmingWhitespace ?? "unknown"
        var variables = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TERM=dumb"]
        if let text = readSmallFile("/etc/vhpc/environment") {
            for line in text.split(separator: "\n") where line.contains("=") {
                variables.append(String(line))
            }
        }
        return GuestEnvironment(vseName: name, variables: variables)
    }

    /// The base variables overridden by the request's, later entries winning.
    func merged(with extra: [String]) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        for entry in variables + extra {
            let key = String(entry.prefix { $0 != "=" })
            if values[key] == nil { order.append(key) }
            values[key] = entry
        }
        return order.compactMap { values[$0] }
    }
}
