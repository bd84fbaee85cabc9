/// FNV-1a over a string's UTF-8: the one stable, non-cryptographic hash V2M derives names, tags and MACs from
/// (the same on every host and run; not a secret).
public enum StableHash {
    public static func fnv1a(_ text: String) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return hash
    }
}
