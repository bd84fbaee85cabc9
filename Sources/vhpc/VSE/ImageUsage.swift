import Foundation
import JobHistory
import V2M
import VSE

/// Who uses cached images right now: live VMs started with `vhpc vm start`, and running `--vse` jobs. Read
/// once per command (VM records and the job history), then asked per image.
struct ImageUsage {
    private let usersByImage: [String: [String]]

    init() {
        var users: [String: [String]] = [:]
        for record in VMSupport.records.list() where record.processAlive {
            users[record.profile.imageID, default: []].append("VM \(record.name) (\(record.effectiveState.rawValue))")
        }
        if let store = try? JobStore(path: JobRecordWriter.databasePath()), let jobs = try? store.jobs() {
            for job in jobs {
                let state = FrontEndLiveness.displayState(job)
                guard let image = job.image, !state.isFinal else { continue }
                users[image, default: []].append("job \(job.id) (\(state.rawValue))")
            }
        }
        usersByImage = users
    }

    func users(of id: String) -> [String] { usersByImage[id] ?? [] }
}
