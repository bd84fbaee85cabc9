import NIOCore

/// Put after the wire handlers: reports the first error (the one place to log why the connection ends) and
/// closes the channel. Later errors of the dying connection are passed on but not reported again.
///
/// The Wire module does not log; pass a closure that does, e.g.
/// `WireErrorHandler { error in logger.warning("closing connection", metadata: ["reason": "\(error)"]) }`.
public final class WireErrorHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = Message
    public typealias InboundOut = Message

    private let report: @Sendable (any Error) -> Void
    private var reported = false

    public init(report: @escaping @Sendable (any Error) -> Void) {
        self.report = report
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !reported {
            reported = true
            report(error)
        }
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension WireErrorHandler: Sendable {}
