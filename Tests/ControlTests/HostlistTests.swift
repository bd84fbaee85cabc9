import Launch
import Testing

@Suite struct HostlistTests {
    @Test func expandsRangesWithZeroPaddingAndPlainNames() throws {
        #expect(try Hostlist.expand("node[01-04],gpu7") == ["node01", "node02", "node03", "node04", "gpu7"])
        #expect(try Hostlist.expand("n[1-3,7]") == ["n1", "n2", "n3", "n7"])
        #expect(try Hostlist.expand("n[8-11]") == ["n8", "n9", "n10", "n11"])
        #expect(try Hostlist.expand("n[098-101]") == ["n098", "n099", "n100", "n101"])
        #expect(try Hostlist.expand("localhost") == ["localhost"])
    }

    @Test func multipleBracketsMultiply() throws {
        #expect(try Hostlist.expand("r[1-2]-n[01-02]") == ["r1-n01", "r1-n02", "r2-n01", "r2-n02"])
        #expect(try Hostlist.expand("a[1-2],b[3-4]x") == ["a1", "a2", "b3x", "b4x"])
    }

    @Test func malformedListsAreErrors() {
        for bad in ["node[01-04", "node01-04]", "n[4-1]", "n[a-b]", "n[1-]", "n[[1-2]]", "", " , ", "bad host", "n[1-99999999]"] {
            #expect(throws: HostlistError.self, "\(bad)") { _ = try Hostlist.expand(bad) }
        }
    }

    @Test func hostfilesHonourCommentsAndSlots() throws {
        let text = "# cluster\nnode01 slots=2\n\nnode[02-03]  # two more\n"
        #expect(try Hostlist.parseHostfile(text, path: "hosts") == ["node01", "node01", "node02", "node03"])
        #expect(throws: HostlistError.badHostfileLine(path: "hosts", line: 2, "n1 slots=zero")) {
            _ = try Hostlist.parseHostfile("ok\nn1 slots=zero\n", path: "hosts")
        }
    }

    /// Issue 20, finding 7: `node[1-1000000]` used to be accepted and a job of a million agents built;
    /// it is refused at once.
    @Test(.timeLimit(.minutes(1))) func aHugeHostlistIsRefusedAtOnce() throws {
        let started = ContinuousClock.now
        #expect(throws: HostlistError.tooMany("node[1-1000000]", Hostlist.maximumHosts)) { try Hostlist.expand("node[1-1000000]") }
        #expect(throws: HostlistError.self) { try Hostlist.expand("a[1-300],b[1-300]x[1-300]") }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try Hostlist.expand("n[1-65536]").count == 65_536)
    }
}
