/// The CPU virtualization a QEMU-based plug-in uses.
public enum Accelerator: String, Sendable, Codable, CaseIterable {
    /// Hardware virtualization through /dev/kvm.
    case kvm
    /// QEMU's software emulator (slow but always works).
    case tcg
}

/// What the user asked for: a specific accelerator, or `auto` (probe KVM by booting, fall back to TCG).
public enum AcceleratorChoice: String, Sendable, Codable, CaseIterable {
    case auto, kvm, tcg
}
