import VSE

/// How the `qemu` and `libvirt` plug-ins start a job's VMs: through ``SnapshotBoot`` (from the image's saved
/// guest when its stores hold one, saving one first when they do not; cold with no stores), with each VM's
/// credentials and identity read from the credentials file its owner wrote before `start`.
public struct SnapshotStart: Sendable {
    public var boot: SnapshotBoot
    /// The image every VM of the plug-in boots (a template is booted from it).
    public var image: ImageEntry

    public init(boot: SnapshotBoot, image: ImageEntry) {
        self.boot = boot
        self.image = image
    }
}
