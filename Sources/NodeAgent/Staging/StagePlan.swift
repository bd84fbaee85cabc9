import Control
import Foundation
import VSE

/// What `vhpc run` stages to every node: `--stage FILE[:DEST]` job files and, with `--vse`, the image's
/// artifacts (manifest, kernel, initrd, disk). Each becomes one ``StagingFile`` with its size and SHA-256.
/// Here, below the CLI, because `vhpc bench` stages the same way.
public enum StagePlan {
    /// Why a file cannot be staged: one line naming the argument or file.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Default chunk size: 1 MiB (fits the wire's 2 MiB payload limit with room to spare).
    public static let defaultChunkSize = 1 << 20

    /// Offers for `--stage` arguments (`FILE` or `FILE:DEST`, DEST relative to the node's job stage directory).
    public static func jobFiles(_ arguments: [String], firstTransferID: UInt64 = 1, chunkSize: Int = defaultChunkSize) throws -> [StagingFile] {
        var files: [StagingFile] = []
        for (index, argument) in arguments.enumerated() {
            let (source, destination) = split(argument)
            let path = (source as NSString).standardizingPath
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw Failure(description: "--stage \(argument): no such file: \(source)")
            }
            guard !destination.isEmpty, !destination.hasPrefix("/"), !destination.split(separator: "/").contains("..") else {
                throw Failure(description: "--stage \(argument): DEST must be a relative path without '..' (got '\(destination)')")
            }
            var info = stat()
            guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                throw Failure(description: "--stage \(argument): \(source) is not a regular file")
            }
            let file = try record(of: path)
            let offer = StagingOffer(
                transferID: firstTransferID + UInt64(index), size: file.size, sha256: file.sha256,
                chunkSize: chunkSize, target: .job(index: index, path: destination), mode: UInt32(info.st_mode & 0o777))
            files.append(StagingFile(source: (path as NSString).isAbsolutePath ? path : FileManager.default.currentDirectoryPath + "/" + path, offer: offer))
        }
        return files
    }

    /// Offers for every artifact of a cached image (the manifest last: its arrival completes the image).
    public static func image(_ entry: ImageEntry, firstTransferID: UInt64, chunkSize: Int = defaultChunkSize) throws -> [StagingFile] {
        let manifest = entry.manifest
        var artifacts = [manifest.kernel, manifest.initrd] + (manifest.disk.map { [$0] } ?? [])
        artifacts.append(try record(of: entry.directory + "/" + ImageManifest.fileName))
        return artifacts.enumerated().map { index, artifact in
            StagingFile(
                source: entry.path(of: artifact),
                offer: StagingOffer(
                    transferID: firstTransferID + UInt64(index), size: artifact.size, sha256: artifact.sha256, chunkSize: chunkSize,
                    target: .image(imageID: manifest.id, artifact: artifact.path, artifactCount: artifacts.count)))
        }
    }

    static func split(_ argument: String) -> (String, String) {
        if let colon = argument.lastIndex(of: ":") {
            return (String(argument[..<colon]), String(argument[argument.index(after: colon)...]))
        }
        return (argument, (argument as NSString).lastPathComponent)
    }

    /// Size and SHA-256 of `path` (its `Artifact`, named by its last path component).
    public static func record(of path: String) throws -> Artifact {
        let name = (path as NSString).lastPathComponent
        let directory = (path as NSString).deletingLastPathComponent
        do {
            return try ImageBuilder.artifact(name, in: directory.isEmpty ? "." : directory)
        } catch {
            throw Failure(description: "cannot read \(path): \(error)")
        }
    }

    /// Removes what a job left in the local node directories (agents remove their own; this catches killed ones).
    public static func sweep(jobID: String, nodes: Int, state: StateDirectory = .resolve()) {
        let directory = NodeDirectories.byRank(state: state)
        for rank in 1...max(1, nodes) { StagingFiles.removeJobFiles(directory: directory(rank), jobID: jobID) }
    }
}
