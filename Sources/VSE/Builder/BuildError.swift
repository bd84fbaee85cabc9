/// Why an image build failed. Nothing is left in the cache when one is thrown.
public enum BuildError: Error, CustomStringConvertible {
    case unknownPackages([String], release: String)
    case bootstrapFailed(release: String, output: String)
    case setupFailed(index: Int, command: String, status: Int32, output: String)
    case missingTool(String, hint: String)
    case interrupted

    public var description: String {
        switch self {
        case .unknownPackages(let names, let release):
            return "unknown Debian package\(names.count > 1 ? "s" : "") for \(release): \(names.joined(separator: ", "))"
        case .bootstrapFailed(let release, let output):
            return "mmdebstrap could not create a Debian \(release) root filesystem:\n\(output)"
        case .setupFailed(let index, let command, let status, let output):
            return "setup command #\(index + 1) `\(command)` failed with exit status \(status)" + (output.isEmpty ? "" : ":\n\(output)")
        case .missingTool(let tool, let hint):
            return "\(tool) not found: \(hint)"
        case .interrupted:
            return "build interrupted; nothing was added to the cache"
        }
    }
}
