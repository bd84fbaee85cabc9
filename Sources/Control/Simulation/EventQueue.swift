import CControlSupport

/// The simulator's pending events, earliest first (ties in the order they were scheduled): a calendar queue
/// (a timing wheel of ~1.1 µs buckets over about a second, later events in a 4-ary heap until they come within it).
///
/// A heap's removal walks its height, a cache miss or two per level once it holds hundreds of thousands of
/// events (at 100,000 agents every agent's next tick and its frames in flight); most events of a simulation
/// are due within a period of the present, so a bucket per microsecond keeps each insertion to one list push
/// and each removal to the small sorted bucket at hand. Events leave in exactly the heap's order: by time, then
/// by the order they were scheduled in.
struct EventQueue {
    typealias Entry = SimulatedCluster.Scheduled

    /// One event waiting in a bucket's list.
    private struct Node {
        var entry: Entry
        var next: Int32
    }

    /// Bucket width as a power of two of attoseconds (2^40 as, 1.1 µs: a shift, not a division), and the wheel's
    /// size (a power of two): events due within `bucketCount` buckets of the current one wait in the wheel.
    static let bucketShift = 40
    static let bucketCount = 1 << 20

    /// Each bucket's first node (-1: empty), the nodes, and the first free node.
    private var heads: [Int32]
    private var nodes: [Node] = []
    private var freeNode: Int32 = -1
    /// The current bucket's events (and any scheduled into it or before it), sorted earliest first from
    /// `head` on (the ones before it are taken): an event scheduled into the current bucket is usually the
    /// latest yet and is appended. Sorted latest first, each went to the front, behind every event of the
    /// bucket: 100,000 reports scheduled at one instant moved the whole bucket 100,000 times (minutes).
    private var current: [Entry] = []
    private var head = 0
    /// The current bucket's number (time / width).
    private var cursor: Int64 = 0
    /// Events in the wheel's lists.
    private var inWheel = 0
    /// Events beyond the wheel.
    private var far = FarHeap()
    private(set) var count = 0

    init() {
        heads = Array(repeating: -1, count: Self.bucketCount)
    }

    var isEmpty: Bool { count == 0 }

    static func bucket(_ entry: Entry) -> Int64 {
        Int64(truncatingIfNeeded: entry.attoseconds >> bucketShift)
    }

    mutating func insert(_ entry: Entry) {
        count += 1
        let bucket = Self.bucket(entry)
        if bucket <= cursor {
            // Into the sorted current bucket: usually at its end (the latest yet), else after every event
            // before it (binary search), into the taken room at the front when it is the earliest.
            if head == current.count || current[current.count - 1] < entry {
                current.append(entry)
            } else if head > 0, entry < current[head] {
                head -= 1
                current[head] = entry
            } else {
                var low = head
                var high = current.count
                while low < high {
                    let middle = (low + high) / 2
                    if current[middle] < entry { low = middle + 1 } else { high = middle }
                }
                current.insert(entry, at: low)
            }
        } else if bucket - cursor < Int64(Self.bucketCount) {
            push(entry, into: bucket)
        } else {
            far.insert(entry)
        }
    }

    private mutating func push(_ entry: Entry, into bucket: Int64) {
        let index = Int(bucket & Int64(Self.bucketCount - 1))
        let node: Int32
        if freeNode >= 0 {
            node = freeNode
            freeNode = nodes[Int(node)].next
            nodes[Int(node)] = Node(entry: entry, next: heads[index])
        } else {
            node = Int32(nodes.count)
            nodes.append(Node(entry: entry, next: heads[index]))
        }
        heads[index] = node
        inWheel += 1
    }

    /// The event that leaves next when it is already at hand, in the current bucket (nothing moves on to the
    /// next bucket).
    var upcoming: Entry? { head < current.count ? current[head] : nil }

    /// What the simulator prefetches: ``upcoming``, else (most often, when events are sparser than buckets: a
    /// steady state's ticks) the last event scheduled into the next bucket, a pending one likely to leave next.
    var likelyNext: Entry? {
        if let upcoming { return upcoming }
        let node = heads[Int((cursor + 1) & Int64(Self.bucketCount - 1))]
        return node >= 0 ? nodes[Int(node)].entry : nil
    }

    /// Removes and returns the earliest event.
    mutating func removeMin() -> Entry? {
        removeMin(notAfter: nil)
    }

    /// Removes and returns the earliest event if it is due at `deadline` or before (nil: whenever).
    mutating func removeMin(notAfter deadline: Duration?) -> Entry? {
        if head == current.count { advance() }
        guard head < current.count else { return nil }
        let first = current[head]
        if let deadline {
            guard first.attoseconds <= deadline.attoseconds else { return nil }
        }
        head += 1
        if head == current.count {
            current.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 4096, head * 2 >= current.count {
            current.removeSubrange(0..<head)  // events keep coming into the bucket: drop the taken room
            head = 0
        }
        count -= 1
        return first
    }

    /// Moves on to the next bucket that holds events, bringing far events into the wheel as it comes to them.
    private mutating func advance() {
        while head == current.count, count > 0 {
            current.removeAll(keepingCapacity: true)
            head = 0
            if inWheel == 0, let next = far.min {
                cursor = Self.bucket(next)  // nothing in the wheel: straight to the far heap's first
            } else {
                cursor += 1
            }
            while let next = far.min, Self.bucket(next) - cursor < Int64(Self.bucketCount) {
                _ = far.removeMin()
                let bucket = Self.bucket(next)
                if bucket <= cursor { current.append(next) } else { push(next, into: bucket) }
            }
            let index = Int(cursor & Int64(Self.bucketCount - 1))
            var node = heads[index]
            heads[index] = -1
            while node >= 0 {
                current.append(nodes[Int(node)].entry)
                let next = nodes[Int(node)].next
                nodes[Int(node)].next = freeNode
                freeNode = node
                node = next
                inWheel -= 1
            }
            if current.count > 1 { current.sort() }
        }
        // The first event of the bucket after next: ``likelyNext`` reads it once the next bucket's events are
        // being taken (a cache miss per event otherwise, the pool's nodes being reused in no order).
        let next = heads[Int((cursor + 2) & Int64(Self.bucketCount - 1))]
        if next >= 0 { nodes.withUnsafeBufferPointer { vhpc_prefetch($0.baseAddress! + Int(next), UInt(MemoryLayout<Node>.stride)) } }
    }
}

/// Events beyond the calendar's wheel: an implicit 4-ary min-heap (fewer comparisons than swift-collections'
/// min-max `Heap`, its children side by side in memory).
private struct FarHeap {
    private var elements: [SimulatedCluster.Scheduled] = []

    var min: SimulatedCluster.Scheduled? { elements.first }

    mutating func insert(_ element: SimulatedCluster.Scheduled) {
        elements.append(element)
        elements.withUnsafeMutableBufferPointer { heap in
            var hole = heap.count - 1
            while hole > 0 {
                let parent = (hole - 1) / 4
                guard element < heap[parent] else { break }
                heap[hole] = heap[parent]
                hole = parent
            }
            heap[hole] = element
        }
    }

    /// Removes and returns the earliest event.
    mutating func removeMin() -> SimulatedCluster.Scheduled? {
        guard let last = elements.popLast() else { return nil }
        guard !elements.isEmpty else { return last }
        return elements.withUnsafeMutableBufferPointer { heap in
            let first = heap[0]
            // Sift the last element down from the root's hole.
            let count = heap.count
            var hole = 0
            while true {
                let child = hole * 4 + 1
                guard child < count else { break }
                var smallest = child
                let end = Swift.min(child + 4, count)
                var next = child + 1
                while next < end {
                    if heap[next] < heap[smallest] { smallest = next }
                    next += 1
                }
                guard heap[smallest] < last else { break }
                heap[hole] = heap[smallest]
                hole = smallest
            }
            heap[hole] = last
            return first
        }
    }
}
