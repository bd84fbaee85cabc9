import Launch
import Testing

@Suite struct SSHCommandLineTests {
    @Test func quotesEveryWordForPOSIXShells() {
        #expect(SSHCommandLine.quote("plain") == "'plain'")
        #expect(SSHCommandLine.quote("") == "''")
        #expect(SSHCommandLine.quote("it's") == #"'it'\''s'"#)
        #expect(SSHCommandLine.quote("''") == #"''\'''\'''"#)
        #expect(SSHCommandLine.quote("$HOME `id` $(id) a;b|c&d > x\n\\") == "'$HOME `id` $(id) a;b|c&d > x\n\\'")
    }

    @Test func environmentNames() {
        for good in ["A", "_x", "VHPC_RANK", "a1"] { #expect(SSHCommandLine.isValidEnvironmentName(good), "\(good)") }
        for bad in ["", "1A", "A-B", "A=B", "A B", "É"] { #expect(!SSHCommandLine.isValidEnvironmentName(bad), "\(bad)") }
    }

    @Test func remoteCommandChecksTheProgramThenExecsItWithSortedEnvironment() throws {
        let request = LaunchRequest(
            host: "node01", executable: "/opt/vhpc/bin/vhpc", arguments: ["agent", "--job", "j 1", "it's"],
            environment: ["VHPC_RANK": "3", "A_FIRST": "x y"])
        let command = try SSHCommandLine.remoteCommand(for: request, startMarker: "vhpc-ssh-started:abc")
        #expect(command == """
            [ -e '/opt/vhpc/bin/vhpc' ] || { printf '%s\\n' 'vhpc: /opt/vhpc/bin/vhpc: command not found' >&2; exit 127; }; \
            [ -x '/opt/vhpc/bin/vhpc' ] || { printf '%s\\n' 'vhpc: /opt/vhpc/bin/vhpc: permission denied' >&2; exit 126; }; \
            printf '%s\\n' 'vhpc-ssh-started:abc' >&2; \
            exec env 'A_FIRST=x y' 'VHPC_RANK=3' '/opt/vhpc/bin/vhpc' 'agent' '--job' 'j 1' 'it'\\''s'
            """)
    }

    @Test func relativeProgramsAreLookedUpAndNoEnvMeansNoEnv() throws {
        let command = try SSHCommandLine.remoteCommand(
            for: LaunchRequest(host: "h", executable: "hostname", arguments: []), startMarker: "M")
        #expect(command.hasPrefix("command -v 'hostname' >/dev/null 2>&1 || {"))
        #expect(command.hasSuffix("printf '%s\\n' 'M' >&2; exec 'hostname'"))
        #expect(!command.contains(" env "))
    }

    @Test func badRequestsAreLaunchErrors() {
        let cases: [LaunchRequest] = [
            LaunchRequest(host: "h", executable: "", arguments: []),
            LaunchRequest(host: "h", executable: "/bin/x", arguments: [], environment: ["BAD-NAME": "1"]),
            LaunchRequest(host: "h", executable: "/odd=name", arguments: [], environment: ["A": "1"]),
        ]
        for request in cases {
            #expect(throws: LaunchError.self, "\(request)") {
                _ = try SSHCommandLine.remoteCommand(for: request, startMarker: "M")
            }
        }
        do {
            _ = try SSHCommandLine.remoteCommand(
                for: LaunchRequest(host: "n7", executable: "/bin/x", arguments: ["a b"], environment: ["1X": ""]), startMarker: "M")
            Issue.record("no error")
        } catch {
            #expect(error.host == "n7")
            #expect(error.command == "/bin/x 'a b'")
            #expect(error.reason.contains("'1X'"))
        }
    }

    @Test func clientArgumentsPutOptionsFirstAndTheHostAfterDoubleDash() {
        var options = SSHOptions()
        options.identityFile = "/k/id"
        options.port = 2222
        options.user = "root"
        options.connectTimeout = .milliseconds(2500)
        options.serverAliveInterval = .seconds(15)
        options.extraOptions = ["StrictHostKeyChecking=no"]
        let arguments = SSHCommandLine.clientArguments(
            options: options, configFile: "/etc/cfg", host: "-oProxyCommand=evil", remoteCommand: "CMD")
        #expect(arguments == [
            "-F", "/etc/cfg", "-i", "/k/id", "-p", "2222", "-l", "root",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=3",
            "-o", "ServerAliveInterval=15", "-o", "ServerAliveCountMax=3",
            "-o", "StrictHostKeyChecking=no",
            "-T", "-e", "none", "--", "-oProxyCommand=evil", "CMD",
        ])
        let minimal = SSHCommandLine.clientArguments(
            options: { var o = SSHOptions(); o.serverAliveInterval = nil; return o }(), configFile: nil, host: "h", remoteCommand: "C")
        #expect(minimal == ["-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-T", "-e", "none", "--", "h", "C"])
    }

    @Test func configFileComesFromOptionsThenEnvironment() {
        var options = SSHOptions()
        #expect(options.effectiveConfigFile(environment: [:]) == nil)
        #expect(options.effectiveConfigFile(environment: ["VHPC_SSH_CONFIG": ""]) == nil)
        #expect(options.effectiveConfigFile(environment: ["VHPC_SSH_CONFIG": "/e"]) == "/e")
        options.configFile = "/o"
        #expect(options.effectiveConfigFile(environment: ["VHPC_SSH_CONFIG": "/e"]) == "/o")
    }

    @Test func failureReasonIsTheLastMeaningfulLine() {
        #expect(SSHCommandLine.failureReason(
            standardError: "Warning: Permanently added '[127.0.0.1]:2' (ED25519) to the list of known hosts.\r\nroot@127.0.0.1: Permission denied (publickey).\r\n",
            exitStatus: 255) == "root@127.0.0.1: Permission denied (publickey). (exit 255)")
        #expect(SSHCommandLine.failureReason(standardError: "  \n", exitStatus: 255)
            == "ssh ended (exit 255) before the remote command started")
        #expect(SSHCommandLine.failureReason(standardError: "x\n", exitStatus: 137) == "x (killed by signal 9)")
    }

    @Test func displayCommandQuotesOnlyWhereNeeded() {
        let request = LaunchRequest(host: "h", executable: "/bin/vhpc", arguments: ["agent", "--x=1", "a b", ""])
        #expect(SSHCommandLine.displayCommand(request) == "/bin/vhpc agent --x=1 'a b' ''")
    }
}
