import Foundation

/// Reads our stdin on a dedicated thread and hands it to the job (the tasks `--input` names), then end-of-stream.
enum StdinForwarder {
    static func start(_ sink: @escaping @Sendable ([UInt8], Bool) -> Void) {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                sink(Array(buffer[0..<count]), false)
            }
            sink([], true)
        }
        thread.start()
    }

    /// Our stdin as a stream of chunks, finished at end-of-file (for `vse boot`, `vm exec`).
    static func stream() -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        start { bytes, endOfStream in
            if !bytes.isEmpty { continuation.yield(bytes) }
            if endOfStream { continuation.finish() }
        }
        return stream
    }
}
