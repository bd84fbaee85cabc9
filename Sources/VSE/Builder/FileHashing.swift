import Foundation
import Crypto

/// SHA-256 of files and directory trees, streamed in 1 MiB blocks.
public enum FileHashing {
    public static func sha256(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty {
            hasher.update(data: block)
        }
        return hasher.finalize().hexString
    }

    /// Hash of a file, or of a directory tree (relative paths, modes and contents, in sorted order).
    public static func sha256(ofTree path: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        guard isDirectory.boolValue else { return try sha256(ofFile: path) }
        var hasher = SHA256()
        let entries = (FileManager.default.subpaths(atPath: path) ?? []).sorted()
        for entry in entries {
            let full = path + "/" + entry
            var st = stat()
            guard lstat(full, &st) == 0 else { continue }
            hasher.update(data: Data("\(entry)\0\(st.st_mode)\0".utf8))
            if st.st_mode & S_IFMT == S_IFREG {
                hasher.update(data: Data(try sha256(ofFile: full).utf8))
            }
        }
        return hasher.finalize().hexString
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal.
    var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
