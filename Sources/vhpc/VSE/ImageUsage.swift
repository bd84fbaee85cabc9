import Foundation
import JobHistory
import V2M
import VSE

/// Who uses a cached image right now: live VMs started with `vhpc vm start`, and running `--vse` jobs.
enum ImageUsage {
    static func users(of id: String) -> [String] {
        var users: [String] = []
        for record in VMSupport.records.list() where record.profile.imageID == id && record.processAlive {
            users.append("VM \(record.name) (\(record.effectiveState.rawValue))")
        }
        if let store = try? JobStore(path: JobRecordWriter.databasePath()), let jobs = try? store.jobs() {
            for job in jobs where job.image == id && !FrontEndLiveness.displayState(job).isFinal {
                users.append("job \(job.id) (\(FrontEndLiveness.displayState(job).rawValue))")
            }
        }
        return users
    }
}
