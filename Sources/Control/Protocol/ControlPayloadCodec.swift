import Foundation
import NIOCore

/// The binary body of a ``ControlPayload`` inside Wire's `agentControl` message: a tag byte, then the
/// case's fields (integers big-endian, strings as UInt32 length + UTF-8, arrays as UInt32 count + items).
///
/// Binary rather than JSON because address tables are big and hot: at 1,024 agents every agent receives
/// and forwards a table of 1,024 endpoints during bootstrap, and JSON coding of those tables took a third of
/// the CPU of a bootstrap. The rare staging offers and reports carry a JSON blob (their schema evolves).
extension ControlPayload {
    private enum Tag: UInt8 {
        case subtreeReady = 1, addressTable, subtreeWired, taskExited, launchFailed
        case stageOffer, stageResend, stageDetach, staged
        case pmiFence, pmiRelease
        case stepJoin, stepParent, stepReady
        case lookup, introduce, ancestorFailed
    }

    /// Appends the encoded payload.
    func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .subtreeReady(let endpoints, let failed):
            buffer.writeInteger(Tag.subtreeReady.rawValue)
            buffer.writeEndpoints(endpoints)
            buffer.writeInteger(UInt32(failed.count))
            for notice in failed { buffer.writeNotice(notice) }
        case .addressTable(let endpoints, let failed):
            buffer.writeInteger(Tag.addressTable.rawValue)
            buffer.writeEndpoints(endpoints)
            buffer.writeInteger(UInt32(failed.count))
            for rank in failed { buffer.writeInteger(Int64(rank)) }
        case .subtreeWired(let count):
            buffer.writeInteger(Tag.subtreeWired.rawValue)
            buffer.writeInteger(Int64(count))
        case .taskExited(let node, let task, let status, let message):
            buffer.writeInteger(Tag.taskExited.rawValue)
            buffer.writeInteger(Int64(node))
            buffer.writeInteger(Int64(task))
            buffer.writeInteger(status)
            buffer.writeLengthPrefixed(message)
        case .launchFailed(let node, let message):
            buffer.writeInteger(Tag.launchFailed.rawValue)
            buffer.writeInteger(Int64(node))
            buffer.writeLengthPrefixed(message)
        case .stageOffer(let offer):
            buffer.writeInteger(Tag.stageOffer.rawValue)
            buffer.writeJSON(offer)
        case .stageResend(let transferID, let offset):
            buffer.writeInteger(Tag.stageResend.rawValue)
            buffer.writeInteger(transferID)
            buffer.writeInteger(offset)
        case .stageDetach(let transferID):
            buffer.writeInteger(Tag.stageDetach.rawValue)
            buffer.writeInteger(transferID)
        case .staged(let report):
            buffer.writeInteger(Tag.staged.rawValue)
            buffer.writeJSON(report)
        case .pmiFence(let node, let epoch, let entries, let part, let parts):
            buffer.writeInteger(Tag.pmiFence.rawValue)
            buffer.writeInteger(Int64(node))
            buffer.writeInteger(Int64(epoch))
            buffer.writeInteger(UInt32(part))
            buffer.writeInteger(UInt32(parts))
            buffer.writeEntries(entries)
        case .pmiRelease(let epoch, let entries, let part, let parts):
            buffer.writeInteger(Tag.pmiRelease.rawValue)
            buffer.writeInteger(Int64(epoch))
            buffer.writeInteger(UInt32(part))
            buffer.writeInteger(UInt32(parts))
            buffer.writeEntries(entries)
        case .stepJoin(let endpoint):
            buffer.writeInteger(Tag.stepJoin.rawValue)
            buffer.writeEndpoints([endpoint])
        case .stepParent(let endpoint):
            buffer.writeInteger(Tag.stepParent.rawValue)
            buffer.writeEndpoints([endpoint])
        case .stepReady(let rank):
            buffer.writeInteger(Tag.stepReady.rawValue)
            buffer.writeInteger(Int64(rank))
        case .lookup(let target, let requester, let helper):
            buffer.writeInteger(Tag.lookup.rawValue)
            buffer.writeInteger(Int64(target))
            buffer.writeInteger(Int64(requester))
            buffer.writeInteger(Int64(helper))
        case .introduce(let destination, let endpoint):
            buffer.writeInteger(Tag.introduce.rawValue)
            buffer.writeInteger(Int64(destination))
            buffer.writeEndpoints([endpoint])
        case .ancestorFailed(let notice):
            buffer.writeInteger(Tag.ancestorFailed.rawValue)
            buffer.writeNotice(notice)
        }
    }

    /// Decodes one payload; nil if the bytes are not a well-formed payload.
    init?(decoding buffer: inout ByteBuffer) {
        guard let raw = buffer.readInteger(as: UInt8.self), let tag = Tag(rawValue: raw) else { return nil }
        switch tag {
        case .subtreeReady:
            guard let endpoints = buffer.readEndpoints(), let count = buffer.readInteger(as: UInt32.self),
                  count <= buffer.readableBytes else { return nil }
            var failed: [FailureNotice] = []
            for _ in 0..<count {
                guard let notice = buffer.readNotice() else { return nil }
                failed.append(notice)
            }
            self = .subtreeReady(endpoints: endpoints, failed: failed)
        case .addressTable:
            guard let endpoints = buffer.readEndpoints(), let count = buffer.readInteger(as: UInt32.self),
                  count <= buffer.readableBytes else { return nil }
            var failed: [Int] = []
            for _ in 0..<count {
                guard let rank = buffer.readInteger(as: Int64.self) else { return nil }
                failed.append(Int(rank))
            }
            self = .addressTable(endpoints: endpoints, failed: failed)
        case .subtreeWired:
            guard let count = buffer.readInteger(as: Int64.self) else { return nil }
            self = .subtreeWired(count: Int(count))
        case .taskExited:
            guard let node = buffer.readInteger(as: Int64.self), let task = buffer.readInteger(as: Int64.self),
                  let status = buffer.readInteger(as: Int32.self), let message = buffer.readLengthPrefixed() else { return nil }
            self = .taskExited(node: Int(node), task: Int(task), status: status, message: message)
        case .launchFailed:
            guard let node = buffer.readInteger(as: Int64.self), let message = buffer.readLengthPrefixed() else { return nil }
            self = .launchFailed(node: Int(node), message: message)
        case .stageOffer:
            guard let offer = buffer.readJSON(StagingOffer.self) else { return nil }
            self = .stageOffer(offer)
        case .stageResend:
            guard let transferID = buffer.readInteger(as: UInt64.self), let offset = buffer.readInteger(as: UInt64.self) else { return nil }
            self = .stageResend(transferID: transferID, offset: offset)
        case .stageDetach:
            guard let transferID = buffer.readInteger(as: UInt64.self) else { return nil }
            self = .stageDetach(transferID: transferID)
        case .staged:
            guard let report = buffer.readJSON(StagingReport.self) else { return nil }
            self = .staged(report)
        case .pmiFence:
            guard let node = buffer.readInteger(as: Int64.self), let epoch = buffer.readInteger(as: Int64.self),
                  let part = buffer.readInteger(as: UInt32.self), let parts = buffer.readInteger(as: UInt32.self), part < parts,
                  let entries = buffer.readEntries() else { return nil }
            self = .pmiFence(node: Int(node), epoch: Int(epoch), entries: entries, part: Int(part), parts: Int(parts))
        case .pmiRelease:
            guard let epoch = buffer.readInteger(as: Int64.self), let part = buffer.readInteger(as: UInt32.self),
                  let parts = buffer.readInteger(as: UInt32.self), part < parts, let entries = buffer.readEntries() else { return nil }
            self = .pmiRelease(epoch: Int(epoch), entries: entries, part: Int(part), parts: Int(parts))
        case .stepJoin, .stepParent:
            guard let endpoints = buffer.readEndpoints(), endpoints.count == 1 else { return nil }
            self = tag == .stepJoin ? .stepJoin(endpoints[0]) : .stepParent(endpoints[0])
        case .stepReady:
            guard let rank = buffer.readInteger(as: Int64.self) else { return nil }
            self = .stepReady(rank: Int(rank))
        case .lookup:
            guard let target = buffer.readInteger(as: Int64.self), let requester = buffer.readInteger(as: Int64.self),
                  let helper = buffer.readInteger(as: Int64.self) else { return nil }
            self = .lookup(target: Int(target), requester: Int(requester), helper: Int(helper))
        case .introduce:
            guard let destination = buffer.readInteger(as: Int64.self), let endpoints = buffer.readEndpoints(), endpoints.count == 1 else { return nil }
            self = .introduce(to: Int(destination), endpoint: endpoints[0])
        case .ancestorFailed:
            guard let notice = buffer.readNotice() else { return nil }
            self = .ancestorFailed(notice)
        }
        guard buffer.readableBytes == 0 else { return nil }
    }
}

extension ByteBuffer {
    fileprivate mutating func writeLengthPrefixed(_ string: String) {
        let lengthIndex = writerIndex
        writeInteger(UInt32(0))
        let length = writeString(string)
        setInteger(UInt32(length), at: lengthIndex)
    }

    /// A length-prefixed string; nil if it is cut short or not valid UTF-8 (as Wire's own strings).
    fileprivate mutating func readLengthPrefixed() -> String? {
        guard let length = readInteger(as: UInt32.self), length <= readableBytes else { return nil }
        return try? readUTF8ValidatedString(length: Int(length))
    }

    /// Endpoints share few distinct hosts (agents of one process, nodes of one cluster): each host is written
    /// once, and endpoints refer to it by index, so a 1,025-entry address table decodes a handful of strings.
    fileprivate mutating func writeEndpoints(_ endpoints: [AgentEndpoint]) {
        var hostIndex: [String: UInt32] = [:]
        var hosts: [String] = []
        for endpoint in endpoints where hostIndex[endpoint.host] == nil {
            hostIndex[endpoint.host] = UInt32(hosts.count)
            hosts.append(endpoint.host)
        }
        writeInteger(UInt32(hosts.count))
        for host in hosts { writeLengthPrefixed(host) }
        writeInteger(UInt32(endpoints.count))
        for endpoint in endpoints {
            writeInteger(Int64(endpoint.rank))
            writeInteger(hostIndex[endpoint.host]!)
            writeInteger(Int64(endpoint.port))
            writeInteger(endpoint.pid)
        }
    }

    fileprivate mutating func readEndpoints() -> [AgentEndpoint]? {
        // Counts the rest of the payload cannot hold (a host takes at least 4 bytes, an endpoint 24) are
        // refused before anything is reserved for them.
        guard let hostCount = readInteger(as: UInt32.self), Int(hostCount) <= readableBytes / 4 else { return nil }
        var hosts: [String] = []
        hosts.reserveCapacity(Int(hostCount))
        for _ in 0..<hostCount {
            guard let host = readLengthPrefixed() else { return nil }
            hosts.append(host)
        }
        guard let count = readInteger(as: UInt32.self), Int(count) <= readableBytes / 24 else { return nil }
        var endpoints: [AgentEndpoint] = []
        endpoints.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let rank = readInteger(as: Int64.self), let index = readInteger(as: UInt32.self), Int(index) < hosts.count,
                  let port = readInteger(as: Int64.self), let pid = readInteger(as: Int32.self) else { return nil }
            endpoints.append(AgentEndpoint(rank: Int(rank), host: hosts[Int(index)], port: Int(port), pid: pid))
        }
        return endpoints
    }

    fileprivate mutating func writeNotice(_ notice: FailureNotice) {
        writeInteger(Int64(notice.rank))
        writeInteger(Int64(notice.reporter))
        writeLengthPrefixed(notice.detector)
        writeLengthPrefixed(notice.detail)
    }

    fileprivate mutating func readNotice() -> FailureNotice? {
        guard let rank = readInteger(as: Int64.self), let reporter = readInteger(as: Int64.self),
              let detector = readLengthPrefixed(), let detail = readLengthPrefixed() else { return nil }
        var notice = FailureNotice(rank: Int(rank), reporter: Int(reporter), detector: .handshakeFailed, detail: detail)
        notice.detector = detector
        return notice
    }

    fileprivate mutating func writeEntries(_ entries: [PMIEntry]) {
        writeInteger(UInt32(entries.count))
        for entry in entries {
            writeLengthPrefixed(entry.key)
            writeInteger(UInt32(entry.bytes.count))
            writeBytes(entry.bytes)
        }
    }

    fileprivate mutating func readEntries() -> [PMIEntry]? {
        // Each entry takes at least 8 bytes (two lengths): a count the payload cannot hold is refused.
        guard let count = readInteger(as: UInt32.self), Int(count) <= readableBytes / 8 else { return nil }
        var entries: [PMIEntry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            // Values are bytes: a PMIx contribution is binary (PMI-1's text is checked where it is served).
            guard let key = readLengthPrefixed(), let length = readInteger(as: UInt32.self), length <= readableBytes,
                  let bytes = readBytes(length: Int(length)) else { return nil }
            entries.append(PMIEntry(key: key, bytes: bytes))
        }
        return entries
    }

    fileprivate mutating func writeJSON<T: Encodable>(_ value: T) {
        writeLengthPrefixed(String(decoding: (try? JSONEncoder().encode(value)) ?? Data(), as: UTF8.self))
    }

    fileprivate mutating func readJSON<T: Decodable>(_ type: T.Type) -> T? {
        guard let text = readLengthPrefixed() else { return nil }
        return try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
