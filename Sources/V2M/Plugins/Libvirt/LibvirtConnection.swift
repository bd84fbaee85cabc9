import CLibvirt
import Dispatch
import Foundation

/// A connection to libvirtd through its C API (libvirt-dev). Calls block, so they run on a dispatch queue
/// rather than on Swift's small cooperative pool; libvirt connections are thread-safe.
final class LibvirtConnection: @unchecked Sendable {
    // virConnectPtr is safe to share between threads (libvirt's own locking).
    let pointer: virConnectPtr
    let uri: String
    private static let queue = DispatchQueue(label: "vhpc.libvirt", attributes: .concurrent)

    private init(pointer: virConnectPtr, uri: String) {
        self.pointer = pointer
        self.uri = uri
    }

    deinit { vhpc_virConnectClose(pointer) }

    /// The last libvirt error message on this thread.
    static func lastError() -> String {
        guard let message = vhpc_virGetLastErrorMessage() else { return "unknown libvirt error" }
        return String(cString: message)
    }

    static func blocking<T: Sendable>(_ body: @escaping @Sendable () -> Result<T, V2MError>) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            queue.async { c.resume(with: body().mapError { $0 as any Error }) }
        }
    }

    /// libvirt prints every error to stderr unless a handler is set; errors are reported through V2MError instead.
    private static let silenceDefaultErrorHandler: Void = {
        vhpc_virSetErrorFunc(nil) { _, _ in }
    }()

    static func open(_ uri: String) async throws -> LibvirtConnection {
        _ = silenceDefaultErrorHandler
        return try await blocking {
            guard let pointer = vhpc_virConnectOpen(uri) else {
                return .failure(.libvirt(operation: "connect \(uri)", reason: LibvirtConnection.lastError()))
            }
            return .success(LibvirtConnection(pointer: pointer, uri: uri))
        }
    }

    /// Starts a transient domain from XML; returns its UUID.
    @discardableResult
    /// Starts a transient domain; with `autoDestroy` (VIR_DOMAIN_START_AUTODESTROY) libvirtd destroys it when
    /// this connection closes — when the process holding it ends, however it ends.
    func createDomain(xml: String, autoDestroy: Bool = false) async throws -> String {
        let connection = self
        return try await Self.blocking { () -> Result<String, V2MError> in
            guard let domain = vhpc_virDomainCreateXML(connection.pointer, xml, autoDestroy ? 2 : 0) else {
                return .failure(.libvirt(operation: "virDomainCreateXML", reason: LibvirtConnection.lastError()))
            }
            defer { vhpc_virDomainFree(domain) }
            return .success(Self.uuid(of: domain))
        }
    }

    /// Looks up domain `name` on libvirt's queue and runs `body` with it (freed afterwards); a missing domain
    /// is an error naming `operation`.
    func lookingUp<T: Sendable>(_ name: String, for operation: String,
                                _ body: @escaping @Sendable (virDomainPtr) -> Result<T, V2MError>) async throws -> T {
        let connection = self
        return try await Self.blocking { () -> Result<T, V2MError> in
            guard let domain = vhpc_virDomainLookupByName(connection.pointer, name) else {
                return .failure(.libvirt(operation: operation, reason: LibvirtConnection.lastError()))
            }
            defer { vhpc_virDomainFree(domain) }
            return body(domain)
        }
    }

    /// The UUID of domain `name`.
    func domainUUID(_ name: String) async throws -> String {
        try await lookingUp(name, for: "virDomainLookupByName \(name)") { .success(Self.uuid(of: $0)) }
    }

    static func uuid(of domain: virDomainPtr) -> String {
        var buffer = [CChar](repeating: 0, count: 37)  // VIR_UUID_STRING_BUFLEN
        guard vhpc_virDomainGetUUIDString(domain, &buffer) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Domain `name`'s state as V2M names it; nil when libvirt has no such domain (a transient domain is gone
    /// once destroyed, e.g. by `virsh destroy`).
    func observedState(_ name: String) async throws -> VMState? {
        let connection = self
        return try await Self.blocking { () -> Result<VMState?, V2MError> in
            guard let domain = vhpc_virDomainLookupByName(connection.pointer, name) else { return .success(nil) }
            defer { vhpc_virDomainFree(domain) }
            var state: Int32 = 0
            var reason: Int32 = 0
            guard vhpc_virDomainGetState(domain, &state, &reason, 0) == 0 else {
                return .failure(.libvirt(operation: "virDomainGetState \(name)", reason: LibvirtConnection.lastError()))
            }
            return .success(Self.vmState(libvirtState: state))
        }
    }

    /// libvirt's `virDomainState` as a V2M state.
    static func vmState(libvirtState state: Int32) -> VMState {
        switch UInt32(bitPattern: state) {
        case VIR_DOMAIN_RUNNING.rawValue, VIR_DOMAIN_BLOCKED.rawValue: .running
        case VIR_DOMAIN_PAUSED.rawValue, VIR_DOMAIN_PMSUSPENDED.rawValue: .paused
        case VIR_DOMAIN_SHUTDOWN.rawValue: .stopping
        case VIR_DOMAIN_CRASHED.rawValue: .crashed
        default: .stopped
        }
    }

    /// True if domain `name` is paused (`VIR_DOMAIN_PAUSED`), false if running or in any other state.
    func isPaused(_ name: String) async throws -> Bool {
        try await lookingUp(name, for: "virDomainLookupByName \(name)") { domain in
            var state: Int32 = 0
            var reason: Int32 = 0
            guard vhpc_virDomainGetState(domain, &state, &reason, 0) == 0 else {
                return .failure(.libvirt(operation: "virDomainGetState \(name)", reason: LibvirtConnection.lastError()))
            }
            return .success(state == Int32(VIR_DOMAIN_PAUSED.rawValue))
        }
    }

    private func withDomain(_ name: String, _ operation: String,
                            _ body: @escaping @Sendable (virDomainPtr) -> Int32) async throws {
        try await lookingUp(name, for: "\(operation) \(name)") { domain -> Result<Void, V2MError> in
            body(domain) == 0 ? .success(()) : .failure(.libvirt(operation: "\(operation) \(name)", reason: LibvirtConnection.lastError()))
        }
    }

    func suspend(_ name: String) async throws { try await withDomain(name, "virDomainSuspend") { vhpc_virDomainSuspend($0) } }
    func resume(_ name: String) async throws { try await withDomain(name, "virDomainResume") { vhpc_virDomainResume($0) } }
    func destroy(_ name: String) async throws { try await withDomain(name, "virDomainDestroy") { vhpc_virDomainDestroy($0) } }
    func shutdown(_ name: String) async throws { try await withDomain(name, "virDomainShutdown") { vhpc_virDomainShutdown($0) } }

    /// True if libvirt knows a domain of this name (a transient one disappears once stopped).
    func domainExists(_ name: String) async -> Bool {
        let connection = self
        return (try? await Self.blocking { () -> Result<Bool, V2MError> in
            guard let domain = vhpc_virDomainLookupByName(connection.pointer, name) else { return .success(false) }
            vhpc_virDomainFree(domain)
            return .success(true)
        }) ?? false
    }

    /// The libvirtd version ("9.0.0").
    func libraryVersion() -> String {
        var version: UInt = 0
        guard vhpc_virConnectGetLibVersion(pointer, &version) == 0 else { return "unknown" }
        return "\(version / 1_000_000).\((version / 1000) % 1000).\(version % 1000)"
    }
}
