import Testing
import Wire
import WireCore

/// The per-VM guest link secret (issue 20, finding 4): a guest no longer holds the job secret.
@Suite struct GuestSecretTests {
    @Test func eachVMHasItsOwnSecretAndNoneIsTheJobSecret() {
        let job = JobSecret(bytes: Array(0..<32))!
        let r0 = job.guestSecret(jobID: "job-1", rank: 0)
        let r1 = job.guestSecret(jobID: "job-1", rank: 1)
        #expect(r0 == job.guestSecret(jobID: "job-1", rank: 0), "both ends derive the same")
        #expect(r0 != r1 && r0 != job && r1 != job)
        #expect(r0 != job.guestSecret(jobID: "job-2", rank: 0))
        #expect(r0.hexEncoded.count == 64)
    }
}
