import Foundation
import HostProcess

/// Creates a Debian root filesystem with mmdebstrap (variant minbase, packages included).
///
/// Downloaded packages are kept in a per-release archive cache under the state directory (mmdebstrap's
/// `sync-in`/`sync-out` hooks), so later builds of any spec reuse them instead of downloading again;
/// apt verifies every cached package against the release's checksums before using it.
struct DebianBootstrap {
    let release: String
    let packages: [String]
    /// Where downloaded .debs are kept between builds (nil: no cache).
    var archiveCache: String? = nil

    /// Documentation, manuals and locales are left out: they only make images larger.
    static let excludedPaths = ["/usr/share/man/*", "/usr/share/doc/*", "/usr/share/locale/*", "/usr/share/info/*"]

    /// mmdebstrap's own hook that runs dpkg under eatmydata (no fsync while installing): about 40 %
    /// faster here, and safe because an unfinished tree is thrown away anyway.
    static let eatmydataHooks = "/usr/share/mmdebstrap/hooks/eatmydata"

    func run(into tree: String) throws {
        try checkPackagesKnown()
        var arguments = ["--variant=minbase", "--quiet", "--mode=root"]
        if FileManager.default.fileExists(atPath: Self.eatmydataHooks) {
            arguments.append("--hook-dir=" + Self.eatmydataHooks)
        }
        if !packages.isEmpty { arguments.append("--include=" + packages.joined(separator: ",")) }
        for path in Self.excludedPaths { arguments.append("--dpkgopt=path-exclude=\(path)") }
        arguments.append("--dpkgopt=path-include=/usr/share/doc/*/copyright")
        if let cache = archiveCache {
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
            let quoted = HostCommand.quoted(cache)
            arguments += [
                "--skip=essential/unlink",
                "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
                "--setup-hook=sync-in \(quoted) /var/cache/apt/archives/",
                "--customize-hook=sync-out /var/cache/apt/archives \(quoted)",
            ]
        }
        arguments += [release, tree]
        let output = try HostCommand("mmdebstrap", arguments).runAllowingFailure()
        guard output.status == 0 else {
            let text = output.stderrText + output.stdoutText
            let missing = Self.unknownPackages(in: text)
            if !missing.isEmpty { throw BuildError.unknownPackages(missing, release: release) }
            throw BuildError.bootstrapFailed(release: release, output: HostCommand.tail(text, lines: 12))
        }
    }

    /// When the release is the host's own, the host's apt lists answer "does this package exist" in
    /// a second instead of after mmdebstrap's own download.
    func checkPackagesKnown() throws {
        guard !packages.isEmpty, Self.hostCodename() == release else { return }
        let output = try HostCommand("apt-cache", ["show", "--no-all-versions"] + packages).runAllowingFailure()
        let found = Set(output.stdoutText.split(separator: "\n").compactMap { line -> String? in
            line.hasPrefix("Package: ") ? String(line.dropFirst("Package: ".count)) : nil
        })
        let missing = packages.filter { !found.contains($0) }
        if !missing.isEmpty { throw BuildError.unknownPackages(missing, release: release) }
    }

    static func hostCodename() -> String? {
        guard let text = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VERSION_CODENAME=") {
            return String(line.dropFirst("VERSION_CODENAME=".count))
        }
        return nil
    }

    /// Package names apt could not find, from messages like `E: Unable to locate package foo`
    /// or `Package 'foo' has no installation candidate`.
    static func unknownPackages(in text: String) -> [String] {
        var names: [String] = []
        for line in text.split(separator: "\n") {
            if let range = line.range(of: "Unable to locate package ") {
                names.append(String(line[range.upperBound...]).trimmingCharacters(in: .whitespaces))
            } else if line.contains("has no installation candidate"), let open = line.firstIndex(of: "'") {
                let rest = line[line.index(after: open)...]
                if let close = rest.firstIndex(of: "'") { names.append(String(rest[..<close])) }
            }
        }
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }
}
