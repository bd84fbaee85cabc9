import Foundation

/// The content-addressed image cache: `images/<id>/manifest.json` plus artifacts.
///
/// Entries appear only by an atomic rename of a finished build directory, so anything under
/// `images/` with a manifest is complete. Temporary build directories live under `tmp/`.
public struct ImageStore: Sendable {
    public let state: StateDirectory

    public init(state: StateDirectory) {
        self.state = state
    }

    /// Every complete image, newest first.
    public func list() -> [ImageEntry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: state.images)) ?? []
        return names.compactMap { entry(id: $0) }.sorted { $0.manifest.createdAt > $1.manifest.createdAt }
    }

    /// The image with this exact id, if cached.
    public func entry(id: String) -> ImageEntry? {
        let directory = state.images + "/" + id
        guard let data = FileManager.default.contents(atPath: directory + "/" + ImageManifest.fileName),
              let manifest = try? ImageManifest.decode(data), manifest.id == id else { return nil }
        return ImageEntry(manifest: manifest, directory: directory)
    }

    /// Finds an image by id, name (newest build of that name) or an id prefix of any length that matches
    /// exactly one image.
    public func resolve(_ reference: String) throws(ImageLookupError) -> ImageEntry {
        if let exact = entry(id: reference) { return exact }
        let all = list()
        if let named = all.first(where: { $0.manifest.name == reference }) { return named }
        if !reference.isEmpty {
            let matches = all.filter { $0.manifest.id.hasPrefix(reference) }
            if matches.count == 1 { return matches[0] }
            if matches.count > 1 { throw .ambiguous(reference, matches.map(\.manifest.id)) }
        }
        throw .notFound(reference, cacheDirectory: state.images)
    }

    /// Copies of image `id` staged into this machine's node directories (`nodes/<rank>/images/<id>`, the
    /// local launcher's nodes), including ones a crash left incomplete.
    public func nodeCopies(of id: String) -> [String] {
        let nodes = state.root + "/nodes"
        let ranks = (try? FileManager.default.contentsOfDirectory(atPath: nodes)) ?? []
        return ranks.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.compactMap { rank in
            let directory = nodes + "/" + rank + "/images/" + id
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue ? directory : nil
        }
    }

    /// Image ids that have node copies, whether or not the image itself is still cached.
    public func idsWithNodeCopies() -> Set<String> {
        let nodes = state.root + "/nodes"
        let ranks = (try? FileManager.default.contentsOfDirectory(atPath: nodes)) ?? []
        var ids = Set<String>()
        for rank in ranks {
            for id in (try? FileManager.default.contentsOfDirectory(atPath: nodes + "/" + rank + "/images")) ?? [] { ids.insert(id) }
        }
        return ids
    }

    /// Removes the node copies of image `id`; returns the bytes freed.
    @discardableResult
    public func removeNodeCopies(of id: String) throws -> UInt64 {
        var freed: UInt64 = 0
        for copy in nodeCopies(of: id) {
            freed += DiskUsage.bytes(at: copy)
            try SafeRemoval.remove(copy, via: state)
        }
        return freed
    }

    /// Removes an image directory (atomically renamed away first, then deleted).
    public func remove(_ entry: ImageEntry) throws {
        try SafeRemoval.remove(entry.directory, via: state)
    }
}

/// A cached image: its manifest and the directory holding its artifacts.
public struct ImageEntry: Sendable, Equatable {
    public let manifest: ImageManifest
    public let directory: String

    public init(manifest: ImageManifest, directory: String) {
        self.manifest = manifest
        self.directory = directory
    }

    /// Absolute path of one of the image's artifacts.
    public func path(of artifact: Artifact) -> String { directory + "/" + artifact.path }
    public var kernelPath: String { path(of: manifest.kernel) }
    public var initrdPath: String { path(of: manifest.initrd) }
    public var diskPath: String? { manifest.disk.map { path(of: $0) } }
}

/// An image reference that does not resolve.
public enum ImageLookupError: Error, CustomStringConvertible {
    case notFound(String, cacheDirectory: String)
    case ambiguous(String, [String])

    public var description: String {
        switch self {
        case .notFound(let ref, let dir):
            return "no image named or with id '\(ref)' in \(dir) (build one with `vhpc vse build SPEC`; list with `vhpc vse list`)"
        case .ambiguous(let ref, let ids):
            return "image reference '\(ref)' is ambiguous: matches \(ids.joined(separator: ", "))"
        }
    }
}
