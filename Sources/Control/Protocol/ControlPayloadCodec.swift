import NIOCore
import Wire

/// The binary body of a ``ControlPayload`` inside Wire's `agentControl` message: a tag byte, then the
/// case's fields (integers big-endian, strings as UInt32 length + UTF-8, arrays as UInt32 count + items),
/// written with WireCore's `writeWire…` helpers and read with its bounded ``WireCore/PayloadReader`` (every
/// length and count checked against the bytes present, strings valid UTF-8, nothing left over).
///
/// Binary rather than JSON because address tables are big and hot: at 1,024 agents every agent receives
/// and forwards a table of 1,024 endpoints during bootstrap, and JSON coding of those tables took a third of
/// the CPU of a bootstrap. Decoding is canonical: a body that decodes re-encodes to the same bytes.
extension ControlPayload {
    private enum Tag: UInt8 {
        case subtreeReady = 1, addressTable, subtreeWired, taskExited, launchFailed
        case stageOffer, stageResend, stageDetach, staged
        case pmiFence, pmiRelease
        case stepJoin, stepParent, stepReady
        case lookup, introduce, ancestorFailed
        case residentLaunch, residentExited, residentRelease, residentReport, residentOutput
        case commandSync, commands
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
        case .taskExited(let node, let task, let status, let message, let output):
            buffer.writeInteger(Tag.taskExited.rawValue)
            buffer.writeInteger(Int64(node))
            buffer.writeInteger(Int64(task))
            buffer.writeInteger(status)
            buffer.writeWireString(message)
            buffer.writeWireBool(output != nil)
            if let output {
                buffer.writeInteger(output.stdout)
                buffer.writeInteger(output.stderr)
            }
        case .launchFailed(let node, let message):
            buffer.writeInteger(Tag.launchFailed.rawValue)
            buffer.writeInteger(Int64(node))
            buffer.writeWireString(message)
        case .stageOffer(let offer):
            buffer.writeInteger(Tag.stageOffer.rawValue)
            buffer.writeOffer(offer)
        case .stageResend(let transferID, let offset):
            buffer.writeInteger(Tag.stageResend.rawValue)
            buffer.writeInteger(transferID)
            buffer.writeInteger(offset)
        case .stageDetach(let transferID):
            buffer.writeInteger(Tag.stageDetach.rawValue)
            buffer.writeInteger(transferID)
        case .staged(let report):
            buffer.writeInteger(Tag.staged.rawValue)
            buffer.writeInteger(Int64(report.node))
            buffer.writeInteger(report.transferID)
            buffer.writeInteger(report.outcome.tag)
            buffer.writeWireString(report.detail)
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
        case .residentLaunch(let configuration):
            buffer.writeInteger(Tag.residentLaunch.rawValue)
            buffer.writeWireString(configuration)
        case .residentExited(let status):
            buffer.writeInteger(Tag.residentExited.rawValue)
            buffer.writeInteger(status)
        case .residentRelease:
            buffer.writeInteger(Tag.residentRelease.rawValue)
        case .residentReport(let node, let step, let endpoint):
            buffer.writeInteger(Tag.residentReport.rawValue)
            buffer.writeWireString(node)
            buffer.writeWireString(step)
            buffer.writeEndpoints([endpoint])
        case .residentOutput(let text):
            buffer.writeInteger(Tag.residentOutput.rawValue)
            buffer.writeWireString(text)
        case .ancestorFailed(let notice):
            buffer.writeInteger(Tag.ancestorFailed.rawValue)
            buffer.writeNotice(notice)
        case .commandSync(let requester):
            buffer.writeInteger(Tag.commandSync.rawValue)
            buffer.writeInteger(Int64(requester))
        case .commands(let destination, let messages):
            // Each message as its kind and its Wire payload (launch and control commands only).
            buffer.writeInteger(Tag.commands.rawValue)
            buffer.writeInteger(Int64(destination))
            buffer.writeWireCount(messages.count)
            for message in messages {
                var payload = ByteBuffer()
                MessageCodec.encode(message, into: &payload)
                buffer.writeInteger(message.kind.rawValue)
                buffer.writeWireBuffer(payload)
            }
        }
    }

    /// Decodes one payload; nil if the bytes are not a well-formed payload.
    init?(decoding buffer: inout ByteBuffer) {
        guard let payload = try? Self.decode(buffer) else { return nil }
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        self = payload
    }

    /// Decodes one whole payload, or says what is wrong with it.
    static func decode(_ body: ByteBuffer) throws(WireError) -> ControlPayload {
        var reader = PayloadReader(body, kind: .agentControl)
        let tag: Tag = try reader.enumeration("tag")
        let payload: ControlPayload
        switch tag {
        case .subtreeReady:
            let endpoints = try reader.endpoints()
            let count = try reader.count("failed", elementSize: 24)
            var failed: [FailureNotice] = []
            for _ in 0..<count { failed.append(try reader.notice()) }
            payload = .subtreeReady(endpoints: endpoints, failed: failed)
        case .addressTable:
            let endpoints = try reader.endpoints()
            let count = try reader.count("failed", elementSize: 8)
            var failed: [Int] = []
            for _ in 0..<count { failed.append(Int(try reader.integer("failed rank", as: Int64.self))) }
            payload = .addressTable(endpoints: endpoints, failed: failed)
        case .subtreeWired:
            payload = .subtreeWired(count: Int(try reader.integer("count", as: Int64.self)))
        case .taskExited:
            let node = Int(try reader.integer("node", as: Int64.self))
            let task = Int(try reader.integer("task", as: Int64.self))
            let status: Int32 = try reader.integer("status")
            let message = try reader.string("message")
            let output = try reader.bool("output counts")
                ? OutputCounts(stdout: try reader.integer("stdout chunks"), stderr: try reader.integer("stderr chunks")) : nil
            payload = .taskExited(node: node, task: task, status: status, message: message, output: output)
        case .launchFailed:
            payload = .launchFailed(node: Int(try reader.integer("node", as: Int64.self)), message: try reader.string("message"))
        case .stageOffer:
            payload = .stageOffer(try reader.offer())
        case .stageResend:
            payload = .stageResend(transferID: try reader.integer("transferID"), offset: try reader.integer("offset"))
        case .stageDetach:
            payload = .stageDetach(transferID: try reader.integer("transferID"))
        case .staged:
            let node = Int(try reader.integer("node", as: Int64.self))
            let transferID: UInt64 = try reader.integer("transferID")
            let outcomeTag: UInt8 = try reader.integer("outcome")
            guard let outcome = StagingReport.Outcome.all.first(where: { $0.tag == outcomeTag }) else {
                throw reader.malformed("unknown staging outcome \(outcomeTag)")
            }
            payload = .staged(StagingReport(node: node, transferID: transferID, outcome: outcome, detail: try reader.string("detail")))
        case .pmiFence:
            let node = Int(try reader.integer("node", as: Int64.self))
            let epoch = Int(try reader.integer("epoch", as: Int64.self))
            let (part, parts) = try reader.part()
            payload = .pmiFence(node: node, epoch: epoch, entries: try reader.entries(), part: part, parts: parts)
        case .pmiRelease:
            let epoch = Int(try reader.integer("epoch", as: Int64.self))
            let (part, parts) = try reader.part()
            payload = .pmiRelease(epoch: epoch, entries: try reader.entries(), part: part, parts: parts)
        case .stepJoin, .stepParent:
            let endpoints = try reader.endpoints()
            guard endpoints.count == 1 else { throw reader.malformed("\(endpoints.count) endpoints, expected 1") }
            payload = tag == .stepJoin ? .stepJoin(endpoints[0]) : .stepParent(endpoints[0])
        case .stepReady:
            payload = .stepReady(rank: Int(try reader.integer("rank", as: Int64.self)))
        case .lookup:
            payload = .lookup(target: Int(try reader.integer("target", as: Int64.self)), requester: Int(try reader.integer("requester", as: Int64.self)),
                              helper: Int(try reader.integer("helper", as: Int64.self)))
        case .introduce:
            let destination = Int(try reader.integer("destination", as: Int64.self))
            let endpoints = try reader.endpoints()
            guard endpoints.count == 1 else { throw reader.malformed("\(endpoints.count) endpoints, expected 1") }
            payload = .introduce(to: destination, endpoint: endpoints[0])
        case .ancestorFailed:
            payload = .ancestorFailed(try reader.notice())
        case .residentLaunch:
            payload = .residentLaunch(configuration: try reader.string("configuration"))
        case .residentExited:
            payload = .residentExited(status: try reader.integer("status", as: Int32.self))
        case .residentRelease:
            payload = .residentRelease
        case .residentReport:
            let node = try reader.string("node")
            let step = try reader.string("step")
            let endpoints = try reader.endpoints()
            guard endpoints.count == 1 else { throw reader.malformed("\(endpoints.count) endpoints, expected 1") }
            payload = .residentReport(node: node, step: step, endpoint: endpoints[0])
        case .residentOutput:
            payload = .residentOutput(try reader.string("text"))
        case .commandSync:
            payload = .commandSync(requester: Int(try reader.integer("requester", as: Int64.self)))
        case .commands:
            let destination = Int(try reader.integer("destination", as: Int64.self))
            let count = try reader.count("commands", elementSize: 5)
            var messages: [Message] = []
            for _ in 0..<count {
                let kind: MessageKind = try reader.enumeration("command kind")
                guard kind == .launch || kind == .control else { throw reader.malformed("a \(kind) message is not a job command") }
                messages.append(try MessageCodec.decode(kind: kind, payload: try reader.slice("command")))
            }
            payload = .commands(to: destination, messages)
        }
        try reader.finish()
        return payload
    }
}

extension StagingReport.Outcome {
    static let all: [Self] = [.staged, .skipped, .failed]

    /// The outcome's byte in a control payload.
    var tag: UInt8 {
        switch self {
        case .staged: return 1
        case .skipped: return 2
        case .failed: return 3
        }
    }
}

extension ByteBuffer {
    /// Endpoints share few distinct hosts (agents of one process, nodes of one cluster): each host is written
    /// once, in order of first use, and endpoints refer to it by index, so a 1,025-entry address table
    /// decodes a handful of strings.
    fileprivate mutating func writeEndpoints(_ endpoints: [AgentEndpoint]) {
        if endpoints.count == 1 {
            // One endpoint (an introduction, a step's join): its host, then it — no index to build.
            writeWireCount(1)
            writeWireString(endpoints[0].host)
            writeWireCount(1)
            writeInteger(Int64(endpoints[0].rank))
            writeInteger(UInt32(0))
            writeInteger(Int64(endpoints[0].port))
            writeInteger(endpoints[0].pid)
            return
        }
        var hostIndex: [String: UInt32] = [:]
        var hosts: [String] = []
        for endpoint in endpoints where hostIndex[endpoint.host] == nil {
            hostIndex[endpoint.host] = UInt32(hosts.count)
            hosts.append(endpoint.host)
        }
        writeWireCount(hosts.count)
        for host in hosts { writeWireString(host) }
        writeWireCount(endpoints.count)
        for endpoint in endpoints {
            writeInteger(Int64(endpoint.rank))
            writeInteger(hostIndex[endpoint.host]!)
            writeInteger(Int64(endpoint.port))
            writeInteger(endpoint.pid)
        }
    }

    fileprivate mutating func writeNotice(_ notice: FailureNotice) {
        writeInteger(Int64(notice.rank))
        writeInteger(Int64(notice.reporter))
        writeWireString(notice.detector)
        writeWireString(notice.detail)
    }

    fileprivate mutating func writeEntries(_ entries: [PMIEntry]) {
        writeWireCount(entries.count)
        for entry in entries {
            writeWireString(entry.key)
            writeWireBytes(entry.bytes)
        }
    }

    fileprivate mutating func writeOffer(_ offer: StagingOffer) {
        writeInteger(offer.transferID)
        writeInteger(offer.size)
        writeWireString(offer.sha256)
        writeInteger(Int64(offer.chunkSize))
        switch offer.target {
        case .job(let index, let path):
            writeInteger(UInt8(1))
            writeInteger(Int64(index))
            writeWireString(path)
        case .image(let imageID, let artifact, let artifactCount):
            writeInteger(UInt8(2))
            writeWireString(imageID)
            writeWireString(artifact)
            writeInteger(Int64(artifactCount))
        }
        writeWireBool(offer.mode != nil)
        writeInteger(offer.mode ?? 0)
    }
}

extension PayloadReader {
    /// Endpoints as ``ByteBuffer/writeEndpoints(_:)`` writes them: hosts distinct and in order of first use.
    fileprivate mutating func endpoints() throws(WireError) -> [AgentEndpoint] {
        let hostCount = try count("hosts", elementSize: 4)
        var hosts: [String] = []
        hosts.reserveCapacity(hostCount)
        for _ in 0..<hostCount { hosts.append(try string("host")) }
        guard Set(hosts).count == hosts.count else { throw malformed("a host is listed twice") }
        let endpointCount = try count("endpoints", elementSize: 24)
        var endpoints: [AgentEndpoint] = []
        endpoints.reserveCapacity(endpointCount)
        var used = 0
        for _ in 0..<endpointCount {
            let rank = Int(try integer("rank", as: Int64.self))
            let index = Int(try integer("host index", as: UInt32.self))
            guard index < hosts.count, index <= used else { throw malformed("host index \(index) out of order or range") }
            if index == used { used += 1 }
            let port = Int(try integer("port", as: Int64.self))
            endpoints.append(AgentEndpoint(rank: rank, host: hosts[index], port: port, pid: try integer("pid")))
        }
        guard used == hosts.count else { throw malformed("\(hosts.count - used) hosts no endpoint uses") }
        return endpoints
    }

    fileprivate mutating func notice() throws(WireError) -> FailureNotice {
        let rank = Int(try integer("rank", as: Int64.self))
        let reporter = Int(try integer("reporter", as: Int64.self))
        let detector = try string("detector")
        var notice = FailureNotice(rank: rank, reporter: reporter, detector: .handshakeFailed, detail: try string("detail"))
        notice.detector = detector
        return notice
    }

    /// Part `part` of `parts` (``PMIParts``).
    fileprivate mutating func part() throws(WireError) -> (part: Int, parts: Int) {
        let part = Int(try integer("part", as: UInt32.self))
        let parts = Int(try integer("parts", as: UInt32.self))
        guard part < parts else { throw malformed("part \(part) of \(parts)") }
        return (part, parts)
    }

    /// Values are bytes: a PMIx contribution is binary (PMI-1's text is checked where it is served).
    fileprivate mutating func entries() throws(WireError) -> [PMIEntry] {
        let entryCount = try count("entries", elementSize: 8)
        var entries: [PMIEntry] = []
        entries.reserveCapacity(entryCount)
        for _ in 0..<entryCount { entries.append(PMIEntry(key: try string("key"), bytes: try byteArray("value"))) }
        return entries
    }

    fileprivate mutating func offer() throws(WireError) -> StagingOffer {
        let transferID: UInt64 = try integer("transferID")
        let size: UInt64 = try integer("size")
        let sha256 = try string("sha256")
        let chunkSize = try integer("chunkSize", as: Int64.self)
        let target: StagingTarget
        switch try integer("target", as: UInt8.self) {
        case 1: target = .job(index: Int(try integer("index", as: Int64.self)), path: try string("path"))
        case 2:
            target = .image(imageID: try string("imageID"), artifact: try string("artifact"),
                            artifactCount: Int(try integer("artifactCount", as: Int64.self)))
        case let other: throw malformed("unknown staging target \(other)")
        }
        let hasMode = try bool("hasMode")
        let mode: UInt32 = try integer("mode")
        guard hasMode || mode == 0 else { throw malformed("a mode without its flag") }
        let offer = StagingOffer(transferID: transferID, size: size, sha256: sha256, chunkSize: Int(clamping: chunkSize),
                                 target: target, mode: hasMode ? mode : nil)
        // Only what the encoder writes: a chunk size of whole SHA-256 blocks, permission bits only.
        guard Int64(offer.chunkSize) == chunkSize, offer.mode == (hasMode ? mode : nil) else {
            throw malformed("chunk size \(chunkSize) or mode \(mode) out of range")
        }
        return offer
    }
}
