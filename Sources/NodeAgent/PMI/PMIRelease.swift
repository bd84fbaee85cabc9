import Control

/// Where a fence's release goes on a node: the fence-loss notice to both servers, a PMIx fence's blobs to
/// the node's PMIx server, anything else to its PMI-1 server. One routing for tasks as processes and in VMs.
public enum PMIRelease {
    public static func deliver(epoch: Int, entries: [PMIEntry], pmi: PMINodeShell?, usesPMIx: Bool) {
        if PMIFenceLoss(entries: entries) != nil {
            pmi?.release(epoch: epoch, entries: entries)
            if usesPMIx { PMIxServer.shared.release(epoch: epoch, entries: entries) }
        } else if PMIxFenceRelay.carriesPMIx(entries) {
            PMIxServer.shared.release(epoch: epoch, entries: entries)
        } else {
            pmi?.release(epoch: epoch, entries: entries)
        }
    }
}
