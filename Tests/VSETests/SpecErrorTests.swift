import Foundation
import Testing
import VSE

/// One test per class of problem: each asserts the exact position and the gist of the message.
@Suite struct SpecErrorTests {
    let fixture: SpecFixture

    init() throws {
        fixture = try SpecFixture()
    }

    /// The single diagnostic `yaml` produces; fails the test if there is not exactly one.
    func only(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> SpecDiagnostic? {
        let diagnostics = fixture.diagnostics(yaml)
        #expect(diagnostics.count == 1, "\(diagnostics)", sourceLocation: sourceLocation)
        return diagnostics.count == 1 ? diagnostics[0] : nil
    }

    @Test func yamlSyntaxError() throws {
        let d = try #require(only("name: demo\nbase: [busybox\nformat: ext4\n"))
        #expect(d.file == "spec.yaml")
        #expect(d.line == 3 && d.column == 7)
        #expect(d.message == "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at 2:7)")
    }

    @Test func tabIndentationIsASyntaxError() throws {
        let d = try #require(only("name: demo\n\tbase: busybox\n"))
        #expect(d.line == 2 && d.column == 1)
        #expect(d.message == "YAML syntax error: found a tab character that violates indentation (while scanning a plain scalar at 1:7)")
    }

    @Test func controlCharacterIsAReadError() throws {
        let d = try #require(only("name: demo\nbase: busy\u{1}box\n"))
        #expect(d.line == 2 && d.column == 11)
        #expect(d.message == "cannot read YAML: control characters are not allowed")
    }

    @Test func undefinedAlias() throws {
        let d = try #require(only("name: demo\nbase: *nope\n"))
        #expect(d.line == 2 && d.column == 7)
        #expect(d.message == "YAML syntax error: found undefined alias")
    }

    @Test func aliasesAreFollowed() throws {
        let spec = try fixture.load("name: &n demo\nbase: busybox\nenvironment: {NAME: *n}\n")
        #expect(spec.environment == ["NAME": "demo"])
    }

    @Test func emptySpec() throws {
        let d = try #require(only("# nothing here\n"))
        #expect("\(d.line):\(d.column)" == "1:1")
        #expect(d.message == "spec is empty; it needs at least 'name' and 'base'")
    }

    @Test func topLevelNotAMapping() throws {
        let d = try #require(only("\n- name: demo\n- base: busybox\n"))
        #expect(d.line == 2 && d.column == 1)
        #expect(d.message.hasPrefix("the top level of a spec must be a mapping"))
        #expect(d.message.hasSuffix("found a list"))
    }

    @Test func unknownKeyWithSuggestion() throws {
        let d = try #require(only(minimalSpec + "pakages: [bc]\n"))
        #expect(d.line == 3 && d.column == 1)
        #expect(d.message == "unknown key 'pakages'; did you mean 'packages'?")
    }

    @Test(arguments: [
        ("enviroment", "environment"), ("env", "environment"), ("Name", "name"), ("kernal", "kernel"),
        ("pkgs", "packages"), ("setpu", "setup"), ("formats", "format"),
    ])
    func typoSuggestions(typo: String, suggestion: String) throws {
        let d = try #require(only(minimalSpec + "\(typo): x\n"))
        #expect(d.message == "unknown key '\(typo)'; did you mean '\(suggestion)'?")
    }

    @Test func unknownKeyWithoutSuggestionListsValidKeys() throws {
        let d = try #require(only(minimalSpec + "colour: blue\n"))
        #expect(d.message.hasPrefix("unknown key 'colour'; valid keys are 'name', 'base'"))
    }

    @Test func unknownNestedKeySuggests() throws {
        let d = try #require(only(minimalSpec + "resources: {cpus: 2}\n"))
        #expect(d.line == 3 && d.column == 13)
        #expect(d.message == "unknown key 'cpus' in 'resources'; did you mean 'vcpus'?")
    }

    @Test func missingRequiredKeys() {
        let diagnostics = fixture.diagnostics("format: ext4\n")
        #expect(diagnostics.map(\.message) == ["missing required key 'name'", "missing required key 'base'"])
        #expect(positions(diagnostics) == ["1:1", "1:1"])
    }

    @Test func packagesNotAListOfStrings() throws {
        let d = try #require(only(minimalSpec + "packages: bc\n"))
        #expect(d.line == 3 && d.column == 11)
        #expect(d.message == "packages must be a list, found a string ('bc')")
        let e = try #require(only(minimalSpec + "packages:\n  - bc\n  - {name: x}\n"))
        #expect(e.line == 5 && e.column == 5)
        #expect(e.message == "each package must be a string, found a mapping")
    }

    @Test func vcpusNotAnInteger() throws {
        let d = try #require(only(minimalSpec + "resources:\n  vcpus: two\n"))
        #expect(d.line == 4 && d.column == 10)
        #expect(d.message == "vcpus must be an integer, found a string ('two')")
        let e = try #require(only(minimalSpec + "resources: {vcpus: \"2\"}\n"))
        #expect(e.message == "vcpus must be an integer, found a string ('2')")
    }

    @Test func vcpusOutOfRange() throws {
        let zero = try #require(only(minimalSpec + "resources: {vcpus: 0}\n"))
        #expect(zero.line == 3 && zero.column == 20)
        #expect(zero.message == "vcpus must be between 1 and 1024, found 0")
        let huge = try #require(only(minimalSpec + "resources: {vcpus: 100000}\n"))
        #expect(huge.message == "vcpus must be between 1 and 1024, found 100000")
    }

    @Test(arguments: [
        ("Chem", "invalid name 'Chem': use only lowercase letters, digits and '-'"),
        ("chem_env", "invalid name 'chem_env': use only lowercase letters, digits and '-'"),
        ("-chem", "invalid name '-chem': must start with a letter or digit"),
        (String(repeating: "a", count: 64), "name is 64 characters long; the maximum is 63"),
    ])
    func badName(name: String, message: String) throws {
        let d = try #require(only("base: busybox\nname: \(name)\n"))
        #expect(d.line == 2 && d.column == 7)
        #expect(d.message == message)
    }

    @Test func nameOfMaximumLengthIsAccepted() throws {
        let spec = try fixture.load("base: busybox\nname: \(String(repeating: "a", count: 63))\n")
        #expect(spec.name.count == 63)
    }

    @Test(arguments: [
        ("ubuntu:jammy", "unsupported base 'ubuntu:jammy'; use 'busybox' or 'debian:<release>' (e.g. 'debian:bookworm')"),
        ("debian", "base 'debian' needs a release, e.g. 'debian:bookworm'"),
        ("debian:Bookworm", "invalid Debian release 'Bookworm' in base; expected a suite or codename such as 'bookworm' or 'sid'"),
        ("debian:../x", "invalid Debian release '../x' in base; expected a suite or codename such as 'bookworm' or 'sid'"),
        ("\"debian:\"", "invalid Debian release '' in base; expected a suite or codename such as 'bookworm' or 'sid'"),
    ])
    func badBase(base: String, message: String) throws {
        let d = try #require(only("name: demo\nbase: \(base)\n"))
        #expect(d.line == 2 && d.column == 7)
        #expect(d.message == message)
    }

    @Test(arguments: [
        ("12Q", "memory '12Q' is not a size; write e.g. 512M, 2G or 1GiB"),
        ("0", "memory must be greater than zero"),
        ("0M", "memory must be greater than zero"),
        ("32M", "memory '32M' is out of range; it must be at least 64M"),
        ("5T", "memory '5T' is out of range; it must be at most 4T"),
    ])
    func badMemory(memory: String, message: String) throws {
        let d = try #require(only(minimalSpec + "resources:\n  memory: \(memory)\n"))
        #expect(d.line == 4 && d.column == 11)
        #expect(d.message == message)
    }

    @Test func memoryAsPlainBytes() throws {
        let spec = try fixture.load(minimalSpec + "resources: {memory: 134217728}\n")
        #expect(spec.resources.memoryBytes == 128 << 20)
    }

    @Test func badFormat() throws {
        let d = try #require(only(minimalSpec + "format: ext3\n"))
        #expect(d.line == 3 && d.column == 9)
        #expect(d.message == "unknown format 'ext3'; expected one of initramfs, ext4, qcow2 (did you mean 'ext4'?)")
    }

    @Test func relativeTargetIsRejected() throws {
        try fixture.write("a.txt")
        let d = try #require(only(minimalSpec + "files:\n  - {source: a.txt, target: opt/a.txt}\n"))
        #expect(d.line == 4 && d.column == 29)
        #expect(d.message == "target 'opt/a.txt' must be an absolute path in the guest (start with '/')")
    }

    @Test func targetWithParentReferenceIsRejected() throws {
        try fixture.write("a.txt")
        let d = try #require(only(minimalSpec + "files:\n  - source: a.txt\n    target: /opt/../etc/passwd\n"))
        #expect(d.line == 5 && d.column == 13)
        #expect(d.message == "target '/opt/../etc/passwd' must not contain '..'")
    }

    @Test func targetNamingADirectoryIsRejected() throws {
        try fixture.write("a.txt")
        let d = try #require(only(minimalSpec + "files: [{source: a.txt, target: /opt/}]\n"))
        #expect(d.message == "target '/opt/' must name a file, not a directory")
    }

    @Test func missingSourceFile() throws {
        let d = try #require(only(minimalSpec + "files:\n  - {source: ./missing.dat, target: /m}\n"))
        #expect(d.line == 4 && d.column == 14)
        #expect(d.message == "source file './missing.dat' does not exist (looked for \(fixture.directory)/missing.dat)")
    }

    @Test func sourceDirectoryIsRejected() throws {
        try fixture.write("dir/inside.txt")
        let d = try #require(only(minimalSpec + "files:\n  - {source: dir, target: /d}\n"))
        #expect(d.line == 4 && d.column == 14)
        #expect(d.message == "source 'dir' is a directory; directories are not supported, list each file")
    }

    @Test func sourceRelativeToParentDirectoryIsAllowed() throws {
        let parentFile = (fixture.directory as NSString).deletingLastPathComponent + "/vhpc-spec-parent-\(UUID().uuidString)"
        try Data("x".utf8).write(to: URL(fileURLWithPath: parentFile))
        defer { try? FileManager.default.removeItem(atPath: parentFile) }
        let name = (parentFile as NSString).lastPathComponent
        let spec = try fixture.load(minimalSpec + "files: [{source: ../\(name), target: /p}]\n")
        #expect(spec.files.first?.source == parentFile)
    }

    @Test func fileEntryMissingKeysAndUnknownKey() {
        let diagnostics = fixture.diagnostics(minimalSpec + "files:\n  - {src: a.txt}\n")
        #expect(diagnostics.map(\.message) == [
            "file entry is missing required key 'source'",
            "file entry is missing required key 'target'",
            "unknown key 'src' in 'files'; did you mean 'source'?",
        ])
        #expect(positions(diagnostics) == ["4:5", "4:5", "4:6"])
    }

    @Test(arguments: [
        ("\"0844\"", "mode '0844' is not an octal permission such as \"0644\" or \"755\""),
        ("rw-r--r--", "mode 'rw-r--r--' is not an octal permission such as \"0644\" or \"755\""),
        ("\"17777\"", "mode '17777' is larger than 07777"),
    ])
    func badMode(mode: String, message: String) throws {
        try fixture.write("a.txt")
        let d = try #require(only(minimalSpec + "files:\n  - source: a.txt\n    target: /a\n    mode: \(mode)\n"))
        #expect(d.line == 6 && d.column == 11)
        #expect(d.message == message)
    }

    @Test func modeForms() throws {
        try fixture.write("a.txt")
        let spec = try fixture.load(minimalSpec + """
            files:
              - {source: a.txt, target: /a, mode: "4755"}
              - {source: a.txt, target: /b, mode: 0600}
              - {source: a.txt, target: /c, mode: "0o640"}
            """)
        #expect(spec.files.map(\.mode) == [0o4755, 0o600, 0o640])
    }

    @Test func packagesWithBusybox() throws {
        let d = try #require(only("name: demo\nbase: busybox\npackages: [bc]\n"))
        #expect(d.line == 3 && d.column == 1)
        #expect(d.message == "packages cannot be installed on base 'busybox' (at 2:7), which has no package manager; remove 'packages' or use 'debian:<release>'")
        #expect(fixture.diagnostics("name: demo\nbase: busybox\npackages: []\n").isEmpty)
    }

    @Test func invalidPackageNames() {
        let diagnostics = fixture.diagnostics(minimalSpec + "packages: [bc, Vim, x, -dash, ok+plus.1]\n")
        #expect(diagnostics.map(\.message) == [
            "invalid Debian package name 'Vim'; package names match [a-z0-9][a-z0-9+.-]+",
            "invalid Debian package name 'x'; package names match [a-z0-9][a-z0-9+.-]+",
            "invalid Debian package name '-dash'; package names match [a-z0-9][a-z0-9+.-]+",
        ])
        #expect(positions(diagnostics) == ["3:16", "3:21", "3:24"])
    }

    @Test func kernelPathThatDoesNotExist() throws {
        let d = try #require(only(minimalSpec + "kernel: ./boot/vmlinuz\n"))
        #expect(d.line == 3 && d.column == 9)
        #expect(d.message == "kernel image './boot/vmlinuz' does not exist (looked for \(fixture.directory)/boot/vmlinuz)")
    }

    @Test func kernelThatIsNeitherPackageNorPath() throws {
        let d = try #require(only(minimalSpec + "kernel: Linux_Image\n"))
        #expect(d.message == "kernel 'Linux_Image' is not a valid Debian package name; write a kernel image path with a '/' (e.g. './vmlinuz')")
    }

    @Test func environmentKeysAndValues() {
        let diagnostics = fixture.diagnostics(minimalSpec + """
            environment:
              1BAD: x
              GOOD-NOT: y
              COUNT: 1
              EMPTY:
              OK: "fine"
            """)
        #expect(diagnostics.map(\.message) == [
            "environment variable name '1BAD' is not a valid shell identifier ([A-Za-z_][A-Za-z0-9_]*)",
            "environment variable name 'GOOD-NOT' is not a valid shell identifier ([A-Za-z_][A-Za-z0-9_]*)",
            "the value of environment variable 'COUNT' must be a string, found an integer (1); quote it to make it a string",
            "the value of environment variable 'EMPTY' must be a string, found nothing (null)",
        ])
        #expect(positions(diagnostics) == ["4:3", "5:3", "6:10", "7:9"])
    }

    @Test func environmentNotAMapping() throws {
        let d = try #require(only(minimalSpec + "environment: [A=1]\n"))
        #expect(d.line == 3 && d.column == 14)
        #expect(d.message == "environment must be a mapping, found a list")
    }

    @Test func setupNotAListOfStrings() throws {
        let d = try #require(only(minimalSpec + "setup: echo hi\n"))
        #expect(d.line == 3 && d.column == 8)
        #expect(d.message == "setup must be a list, found a string ('echo hi')")
        let diagnostics = fixture.diagnostics(minimalSpec + "setup:\n  - true\n  - [a]\n  - \"  \"\n")
        #expect(diagnostics.map(\.message) == [
            "each setup command must be a string, found a boolean (true); quote it to make it a string",
            "each setup command must be a string, found a list",
        ])
        #expect(positions(diagnostics) == ["4:5", "5:5"])
    }

    @Test func blankSetupCommand() throws {
        let d = try #require(only(minimalSpec + "setup: [\"  \"]\n"))
        #expect(d.line == 3 && d.column == 9)
        #expect(d.message == "setup command is empty")
    }

    @Test func duplicateTopLevelKey() throws {
        let d = try #require(only("name: a\nbase: busybox\nname: b\n"))
        #expect(d.line == 3 && d.column == 1)
        #expect(d.message == "duplicate key 'name' (previously defined at 1:1)")
    }

    @Test func duplicateOfQuotedKey() throws {
        let d = try #require(only(minimalSpec + "\"format\": ext4\nformat: qcow2\n"))
        #expect(d.line == 4 && d.column == 1)
        #expect(d.message == "duplicate key 'format' (previously defined at 3:1)")
    }

    @Test func duplicateKeysInFlowMappingKeepColumns() {
        let diagnostics = fixture.diagnostics(minimalSpec + "resources: {vcpus: 1, vcpus: 2, memory: 1Q}\n")
        #expect(diagnostics.map(\.description) == [
            "spec.yaml:3:23: duplicate key 'vcpus' (previously defined at 3:13)",
            "spec.yaml:3:41: memory '1Q' is not a size; write e.g. 512M, 2G or 1GiB",
        ])
    }

    /// Yams names one of several duplicated keys by a sort that is not a total order between a list key
    /// and a string key, so its pick changed from one load to the next (the spec fuzzer found it).
    @Test func duplicatedListKeysAreReportedTheSameWayEveryTime() {
        let yaml = minimalSpec + "? [a]\n: 1\n? [a]\n: 2\nformat: ext4\nformat: qcow2\n"
        let first = fixture.diagnostics(yaml).map(\.description)
        #expect(first == ["spec.yaml:3:3: a mapping key must be a plain string, not a list or a mapping"])
        for _ in 0..<50 { #expect(fixture.diagnostics(yaml).map(\.description) == first) }
    }

    /// `1` and `"1"` are different keys to Yams but sort as equal: the first repeated text is reported at its
    /// later occurrence. (Unlike the list-key case above, this input happened to load the same way without
    /// the fix too; it pins the message and position.)
    @Test func keysWithTheSameTextAndDifferentTagsAreReportedTheSameWayEveryTime() {
        let yaml = minimalSpec + "environment:\n  1: a\n  1: b\n  \"1\": c\n  \"1\": d\n"
        let first = fixture.diagnostics(yaml).map(\.description)
        #expect(first.first == "spec.yaml:5:3: duplicate key '1' (previously defined at 4:3)")
        for _ in 0..<50 { #expect(fixture.diagnostics(yaml).map(\.description) == first) }
    }

    @Test func keyDefinedThreeTimes() {
        let diagnostics = fixture.diagnostics(minimalSpec + "format: ext4\nformat: qcow2\nformat: initramfs\n")
        #expect(diagnostics.map(\.description) == [
            "spec.yaml:4:1: duplicate key 'format' (previously defined at 3:1)",
            "spec.yaml:5:1: duplicate key 'format' (previously defined at 4:1)",
        ])
    }

    @Test func duplicateEnvironmentVariable() throws {
        let d = try #require(only(minimalSpec + "environment:\n  A: \"1\"\n  \"A\": \"2\"\n"))
        #expect(d.line == 5 && d.column == 3)
        #expect(d.message == "duplicate key 'A' (previously defined at 4:3)")
    }

    @Test func duplicateFileTargets() throws {
        try fixture.write("a.txt")
        try fixture.write("b.txt")
        let d = try #require(only(minimalSpec + """
            files:
              - {source: a.txt, target: /opt/x}
              - {source: b.txt, target: /opt//x}
            """))
        #expect(d.line == 5 && d.column == 29)
        #expect(d.message == "duplicate file target '/opt/x' (first at 4:29)")
    }

    @Test func multipleDocumentsAreRejected() throws {
        let d = try #require(only(minimalSpec + "---\nname: other\n"))
        #expect(d.line == 3 && d.column == 1)
        #expect(d.message.contains("but found another document"))
    }
}
