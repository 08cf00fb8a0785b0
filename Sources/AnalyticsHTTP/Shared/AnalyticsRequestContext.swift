import Hummingbird
import NIOCore

/// The request context of both APIs: Hummingbird's basic one, plus the connection's peer, which the
/// rate limits key clients by.
public struct AnalyticsRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
