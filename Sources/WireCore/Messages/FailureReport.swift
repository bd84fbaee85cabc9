import NIOCore

/// `reporter` believes agent `failed` is gone; sent towards the controller, which decides what to do.
public struct FailureReport: Hashable, Sendable {
    public var reporter: UInt32
    public var failed: UInt32
    public var detector: FailureDetector
    /// The reporter's clock when it noticed, in nanoseconds.
    public var timestamp: UInt64
    public var detail: String

    public init(reporter: UInt32, failed: UInt32, detector: FailureDetector, timestamp: UInt64, detail: String = "") {
        self.reporter = reporter
        self.failed = failed
        self.detector = detector
        self.timestamp = timestamp
        self.detail = detail
    }
}

extension FailureReport: PayloadCodable {
    static let kind = MessageKind.failureReport

    func encode(into buffer: inout ByteBuffer) {
        buffer.writeInteger(reporter)
        buffer.writeInteger(failed)
        buffer.writeInteger(detector.rawValue)
        buffer.writeInteger(timestamp)
        buffer.writeWireString(detail)
    }

    init(reading reader: inout PayloadReader) throws(WireError) {
        reporter = try reader.integer("reporter")
        failed = try reader.integer("failed")
        detector = try reader.enumeration("detector")
        timestamp = try reader.integer("timestamp")
        detail = try reader.string("detail")
    }
}
