import Glibc

/// The guest side of the host channel: a virtio-serial port found by name under /sys/class/virtio-ports.
struct VirtioPort {
    let fd: Int32

    static func open(named name: String) -> VirtioPort? {
        for _ in 0..<100 {  // the port may appear a little after the module loads
            if let device = findDevice(named: name) {
                let fd = Glibc.open(device, O_RDWR | O_NONBLOCK | O_CLOEXEC)
                if fd >= 0 { return VirtioPort(fd: fd) }
            }
            usleep(50_000)
        }
        return nil
    }

    private static func findDevice(named name: String) -> String? {
        guard let dir = opendir("/sys/class/virtio-ports") else { return nil }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard entryName.hasPrefix("vport") else { continue }
            if readSmallFile("/sys/class/virtio-ports/\(entryName)/name")?.trimmingWhitespace == name {
                return "/dev/\(entryName)"
            }
        }
        return nil
    }
}

/// Reads a small text file (sysfs, /etc), or nil.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var result: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &chunk, chunk.count)
        if n <= 0 { break }
        result += chunk[0..<n]
    }
    return String(decoding: result, as: UTF8.self)
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
