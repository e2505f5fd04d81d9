import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RenkeiAccess
import RenkeiAudit
import RenkeiCore
import RenkeiCrypto
import RenkeiPeer
import RenkeiRestore
import RenkeiTenantStore
import RenkeiWire

// Operator accounts, sessions and the admin calls that need them (issue 6).

extension CLIFailure {
    /// Not logged in, or the account may not do this (exit code 4).
    static let denied = ExitCode(4)

    /// A failed admin call, with the node's message and a fitting exit code.
    init(_ error: PeerError) {
        let code = (error.cause as? RPCError)?.code
        let exit: ExitCode = switch code {
        case .permissionDenied?, .unauthenticated?: CLIFailure.denied
        case .invalidArgument?, .alreadyExists?: CLIFailure.rejected
        case .notFound?: CLIFailure.notFound
        default: error.code == .invalidInput ? CLIFailure.rejected : .failure
        }
        self.init(error.message, exitCode: exit)
    }
}

/// Runs an admin call with the session of operator view `view`.
func withOperatorSession<T: Sendable>(
    view: String?, socket: String, _ body: @Sendable (String) async throws(PeerError) -> T
) async throws(PeerError) -> T {
    // Without a view, a session kept at RENKEI_SESSION_FILE still serves.
    let keptElsewhere = !(ProcessInfo.processInfo.environment["RENKEI_SESSION_FILE"] ?? "").isEmpty
    guard let directory = view ?? (keptElsewhere ? "" : nil) else {
        throw PeerError(.configuration,
                        "the node is running: give --node DIR (your operator view), or set RENKEI_SESSION_FILE, so the call carries your login session")
    }
    return try await OperatorLogin.withSession(viewDirectory: directory, socket: socket, body)
}

/// An operator view's node configuration, acting municipality and directory.
struct ViewTarget {
    let directory: String
    let config: NodeConfig
    let acting: MunicipalityCode

    init(_ directory: String) throws {
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        (config, acting) = try operatorView(self.directory)
    }

    var socket: String { config.adminSocket }

    /// Runs `body` with a client of the running node and the session token.
    func call<T: Sendable>(_ body: @Sendable @escaping (GRPCClient<HTTP2Client>, String) async throws -> T) async throws -> T {
        let socket = self.socket
        do throws(PeerError) {
            return try await withOperatorSession(view: directory, socket: socket) { token throws(PeerError) in
                try await AdminClient.withConnection(socket: socket) { client in try await body(client, token) }
            }
        } catch {
            throw CLIFailure(error)
        }
    }
}

typealias HTTP2Client = HTTP2ClientTransport.Posix

/// An admin request that carries the operator's session token.
protocol SessionCarrying: Sendable {
    var session: String { get set }
}

extension Renkei_Admin_V1_UserAddRequest: SessionCarrying {}
extension Renkei_Admin_V1_UserDisableRequest: SessionCarrying {}
extension Renkei_Admin_V1_UserListRequest: SessionCarrying {}
extension Renkei_Admin_V1_MediaErasedRequest: SessionCarrying {}
extension Renkei_Admin_V1_AssessmentFiguresRequest: SessionCarrying {}
extension Renkei_Admin_V1_ResidentShowRequest: SessionCarrying {}
extension Renkei_Admin_V1_ResidentDeleteRequest: SessionCarrying {}
extension Renkei_Admin_V1_TenantDeleteRequest: SessionCarrying {}
extension Renkei_Admin_V1_ExportRequest: SessionCarrying {}
extension Renkei_Admin_V1_AuditExportRequest: SessionCarrying {}
extension Renkei_Admin_V1_InquireTransferRequest: SessionCarrying {}
extension Renkei_Admin_V1_MarkMovedOutRequest: SessionCarrying {}
extension Renkei_Admin_V1_BackupNowRequest: SessionCarrying {}
extension Renkei_Admin_V1_BackupStatusRequest: SessionCarrying {}
extension Renkei_Admin_V1_BackupDrillMarkRequest: SessionCarrying {}

/// Sends `request` with the session of operator view `view` filled in.
func withOperatorSession<Request: SessionCarrying, T: Sendable>(
    view: String?, socket: String, _ request: Request, _ body: @Sendable (Request) async throws(PeerError) -> T
) async throws(PeerError) -> T {
    try await withOperatorSession(view: view, socket: socket) { token throws(PeerError) in
        var signed = request
        signed.session = token
        return try await body(signed)
    }
}

extension ViewTarget {
    /// Sends `request` with the session token filled in.
    func call<Request: SessionCarrying, T: Sendable>(
        _ request: Request, _ body: @Sendable @escaping (GRPCClient<HTTP2Client>, Request) async throws -> T
    ) async throws -> T {
        try await call { client, token in
            var signed = request
            signed.session = token
            return try await body(client, signed)
        }
    }
}

/// The terminal an operator works at: RENKEI_TERMINAL, else the host name,
/// reduced to the characters a terminal name may hold.
func currentTerminal(_ given: String?) -> String {
    var host = [CChar](repeating: 0, count: 256)
    let hostName = gethostname(&host, host.count - 1) == 0 ? String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    let raw = given ?? ProcessInfo.processInfo.environment["RENKEI_TERMINAL"] ?? hostName
    let kept = String(raw.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || ".-_:".unicodeScalars.contains($0)) }.prefix(64))
    return kept.isEmpty ? "unknown-terminal" : kept
}

/// A secret from a file (first line), else a prompt without echo, else a line of standard input.
func readSecret(file: String?, prompt: String, option: String) throws -> String {
    if let file { return try KitPassphraseOptions.readFile(file) }
    if isatty(STDIN_FILENO) == 1, let typed = getpass(prompt) {
        return String(cString: typed)
    }
    guard let line = readLine(strippingNewline: true), !line.isEmpty else {
        throw CLIFailure("\(option): give it in a file, on a terminal, or as a line on standard input", exitCode: .validationFailure)
    }
    return line
}

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in to a running node as an operator account (password and one-time code).",
        discussion: """
        Opens a session on the node behind the operator view --node DIR and keeps it in DIR/.session \
        (0600; RENKEI_SESSION_FILE to keep it elsewhere). Later commands with --node use it until it \
        ends: after the node's idle time (default 15 minutes without a call), its lifetime (default 8 \
        hours), `renkei logout`, or a node restart. The password comes from --password-file, a prompt \
        without echo, or the first line of standard input; the one-time code (RFC 6238, from the \
        authenticator enrolled at `renkei user add`) from --totp, a prompt, or the next line. Every \
        login and failed login is written to the municipality's operation log. After 5 failures in a \
        row the account is locked for 15 minutes.

        Exit codes: 0 logged in, 4 refused (one message for every reason; the reason is in the \
        operation log), 64 an invalid option.
        """)

    @Option(help: ArgumentHelp("The operator view of the node (a directory with operator.json).", valueName: "dir"))
    var node: String
    @Option(help: "The account's login name.")
    var user: String
    @Option(help: "This terminal's name as the account's allowed terminals list it. Default: RENKEI_TERMINAL, else the host name.")
    var terminal: String?
    @Option(help: ArgumentHelp("A file whose first line is the password.", valueName: "file"))
    var passwordFile: String?
    @Option(help: "The current 6-digit one-time code.")
    var totp: String?

    func run() async throws {
        try await reportingFailuresAsync {
            let target = try ViewTarget(node)
            let password = try readSecret(file: passwordFile, prompt: "password: ", option: "--password-file")
            let code = try totp ?? readSecret(file: nil, prompt: "one-time code: ", option: "--totp")
            let session: OperatorSessionFile
            do throws(PeerError) {
                session = try await OperatorLogin.login(socket: target.socket, login: user, password: password,
                                                        totp: code.trimmingCharacters(in: .whitespaces), terminal: currentTerminal(terminal))
                try session.save(viewDirectory: target.directory)
            } catch {
                throw CLIFailure(error)
            }
            print("logged in as \(session.login) (\(session.roles.joined(separator: ", "))) of municipality \(session.code) at terminal \(session.terminal)")
        }
    }
}

struct LogoutCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "End the session of an operator view (also recorded in the operation log).")

    @Option(help: ArgumentHelp("The operator view of the node.", valueName: "dir"))
    var node: String

    func run() async throws {
        try await reportingFailuresAsync {
            let target = try ViewTarget(node)
            guard let session = OperatorSessionFile.load(viewDirectory: target.directory) else {
                print("not logged in")
                return
            }
            defer { OperatorSessionFile.remove(viewDirectory: target.directory) }
            var request = Renkei_Admin_V1_LogoutRequest()
            request.session = session.token
            let sent = request
            do throws(PeerError) {
                _ = try await AdminClient.withConnection(socket: target.socket) { client in
                    try await Renkei_Admin_V1_Access.Client(wrapping: client).logout(sent)
                }
                print("logged out")
            } catch {
                // The session had ended already; the local copy goes either way.
                print("logged out (the node had already ended the session: \(error.message))")
            }
        }
    }
}

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Operator accounts: add, disable, list, review; and the role matrix.",
        discussion: """
        Every account belongs to one municipality and never acts for another. Roles (see \
        `renkei user roles`): clerk imports, exports and views residents; inquirer sends transfer and bulk \
        inquiries; administrator manages accounts and may delete the municipality's data; auditor reads \
        the operation log; dr-operator runs backups and restores. A shared ID (two or more --person) must \
        list the terminals it may be used at.
        """,
        subcommands: [UserAdd.self, UserDisable.self, UserList.self, UserReview.self, UserRoles.self, UserTOTP.self])
}

struct UserAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add an operator account and show its one-time-code secret once.",
        discussion: """
        With --node DIR an administrator of the view's municipality adds it through the running node. \
        With --data DIR --code CODE (the node stopped) the account is added directly: this is how the \
        first administrator of a municipality is made. The password (at least 12 characters) comes from \
        --password-file, a prompt, or the first line of standard input; it is stored as a scrypt hash. \
        The TOTP secret is printed once, as base32 and as an otpauth:// URI to enrol an authenticator.
        """)

    @Option(help: ArgumentHelp("The operator view of the running node (acts as its municipality).", valueName: "dir"))
    var node: String?
    @Option(help: ArgumentHelp("Instead of --node: the data directory of a stopped node; needs --code.", valueName: "dir"))
    var data: String?
    @Option(help: "With --data: the municipality the account belongs to.")
    var code: String?
    @Option(help: "The login name: 3-32 of a-z 0-9 . _ -, starting with a letter.")
    var login: String
    @Option(help: "A role (repeat for more): clerk, inquirer, administrator, auditor, dr-operator.")
    var role: [String] = []
    @Option(help: "The person who uses the account (repeat for a shared ID).")
    var person: [String] = []
    @Option(help: "A terminal the account may log in from (repeat; none = any; required for a shared ID).")
    var allowTerminal: [String] = []
    @Option(help: ArgumentHelp("A file whose first line is the password.", valueName: "file"))
    var passwordFile: String?
    @Option(help: .hidden)
    var insecurePasswordCostLog2: Int?

    func validate() throws {
        switch (node, data, code) {
        case (.some, nil, nil), (nil, .some, .some): break
        case (.some, _, _): throw ValidationError("--node: give either --node, or --data with --code, not both")
        case (nil, .some, nil): throw ValidationError("--code: --data needs --code, the account's municipality")
        default: throw ValidationError("--node: say where: --node DIR, or --data DIR --code CODE")
        }
        guard !role.isEmpty else { throw ValidationError("--role: give at least one role") }
        guard !person.isEmpty else { throw ValidationError("--person: name the person who uses the account") }
    }

    func run() async throws {
        try await reportingFailuresAsync {
            let password = try readSecret(file: passwordFile, prompt: "password for \(login): ", option: "--password-file")
            if let node {
                let target = try ViewTarget(node)
                var request = Renkei_Admin_V1_UserAddRequest()
                request.actingCode = target.acting.rawValue
                request.login = login
                request.roles = role
                request.people = person
                request.terminals = allowTerminal
                request.password = password
                let answer = try await target.call(request) { client, call in
                    return try await Renkei_Admin_V1_Access.Client(wrapping: client).userAdd(call)
                }
                print("added account \(answer.login) of municipality \(target.acting)")
                print("one-time-code secret (enrol it now; it is not shown again): \(answer.totpSecretBase32)")
                print(answer.provisioningUri)
                return
            } else {
                let municipality = try municipalityCode(self.code!)
                let store: NodeStore
                do throws(NodeError) {
                    CLILogging.bootstrap(level: .warning)
                    store = try NodeStore.open(NodeDirectory(data!), options: NodeStoreOptions(masterKey: environmentMasterKey()),
                                               logger: Logger(label: "renkei"))
                } catch {
                    throw CLIFailure(error.description)
                }
                guard store.hosts(municipality) else {
                    throw CLIFailure("--code: this node does not host municipality \(municipality)", exitCode: CLIFailure.notFound)
                }
                var roles = Set<Role>()
                for name in role {
                    guard let r = Role(rawValue: name) else {
                        throw CLIFailure("--role: \(name) is not a role; roles are \(Role.allCases.map(\.rawValue).joined(separator: ", "))",
                                         exitCode: .validationFailure)
                    }
                    roles.insert(r)
                }
                var policy = AccountPolicy()
                if let cost = insecurePasswordCostLog2 { policy.passwordCostLog2 = cost }
                let account: Account
                do throws(AccessError) {
                    account = try store.openAccountBook(policy: policy).add(
                        NewAccount(login: login, code: municipality.rawValue, roles: roles, people: person, terminals: allowTerminal,
                                   password: password), now: Date())
                } catch {
                    throw CLIFailure(error.message, exitCode: error.code == .invalidField || error.code == .weakPassword || error.code == .accountExists
                                     ? CLIFailure.rejected : .failure)
                }
                var entry = AuditRecord(event: .accountAdded, outcome: .ok,
                                        detail: "login=\(account.login) roles=\(account.roles.sorted().map(\.rawValue).joined(separator: ",")) people=\(account.people.count) terminals=\(account.terminals.count) via=data-directory")
                entry.terminal = currentTerminal(nil)
                let log: AuditLog
                do throws(NodeError) { log = try store.auditLog(municipality) } catch {
                    throw CLIFailure("the account was added, but the operation log could not record it: \(error.description)")
                }
                do throws(AuditError) { _ = try log.append(entry) } catch {
                    throw CLIFailure("the account was added, but the operation log could not record it: \(error.message)")
                }
                print("added account \(account.login) of municipality \(municipality)")
                print("one-time-code secret (enrol it now; it is not shown again): \(TOTP.base32(account.totpSecret))")
                print(TOTP.provisioningURI(secret: account.totpSecret, account: "\(account.login)@\(municipality)", issuer: "Renkei"))
            }
        }
    }
}

struct UserDisable: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Disable an account of your municipality (it cannot log in; its sessions end).")

    @Option(help: ArgumentHelp("The operator view of the running node.", valueName: "dir"))
    var node: String
    @Option(help: "The account's login name.")
    var login: String
    @Option(help: "Why (e.g. moved to another department); recorded in the operation log, so no personal data.")
    var reason: String

    func run() async throws {
        try await reportingFailuresAsync {
            let target = try ViewTarget(node)
            var request = Renkei_Admin_V1_UserDisableRequest()
            request.actingCode = target.acting.rawValue
            request.login = login
            request.reason = reason
            let answer = try await target.call(request) { client, call in
                return try await Renkei_Admin_V1_Access.Client(wrapping: client).userDisable(call)
            }
            print("disabled account \(login); \(answer.sessionsClosed) session(s) ended")
        }
    }
}

/// Shared by `user list` and `user review`.
struct UserListing {
    static func fetch(node: String, review: Bool) async throws -> (ViewTarget, Renkei_Admin_V1_UserListResponse) {
        let target = try ViewTarget(node)
        var request = Renkei_Admin_V1_UserListRequest()
        request.actingCode = target.acting.rawValue
        request.review = review
        let answer = try await target.call(request) { client, call in
            return try await Renkei_Admin_V1_Access.Client(wrapping: client).userList(call)
        }
        return (target, answer)
    }

    static func render(_ answer: Renkei_Admin_V1_UserListResponse) -> String {
        let rows = answer.users.map { u -> [String] in
            var flags: [String] = []
            if u.disabled { flags.append("disabled(\(u.disabledReason))") }
            if u.dormant { flags.append("dormant") }
            if u.locked { flags.append("locked") }
            if u.shared { flags.append("shared") }
            return [u.login, u.roles.joined(separator: ","), u.people.joined(separator: "; "),
                    u.terminals.isEmpty ? "any" : u.terminals.joined(separator: ","),
                    u.lastLoginUnixMillis == 0 ? "never" : TimeText.iso(u.lastLoginUnixMillis), flags.joined(separator: " ")]
        }
        return Table.render(header: ["LOGIN", "ROLES", "PEOPLE", "TERMINALS", "LAST LOGIN", "FLAGS"], rows: rows)
    }
}

struct UserList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the accounts of your municipality with roles, people, terminals and last use.")

    @Option(help: ArgumentHelp("The operator view of the running node.", valueName: "dir"))
    var node: String

    func run() async throws {
        try await reportingFailuresAsync {
            let (_, answer) = try await UserListing.fetch(node: node, review: false)
            print(UserListing.render(answer))
        }
    }
}

struct UserReview: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "The periodic access review: every account with its flags, recorded in the operation log.",
        discussion: """
        Lists the municipality's accounts with roles, the people and terminals of each, last use and \
        the flags a reviewer acts on: dormant (unused for the node's dormantDays, default 90: it can no \
        longer log in), shared, locked, disabled. The review itself is written to the operation log \
        (accounts-reviewed), which `renkei assessment report` shows as the last access review. \
        Administrator or auditor.
        """)

    @Option(help: ArgumentHelp("The operator view of the running node.", valueName: "dir"))
    var node: String

    func run() async throws {
        try await reportingFailuresAsync {
            let (target, answer) = try await UserListing.fetch(node: node, review: true)
            print(UserListing.render(answer))
            let users = answer.users
            print("")
            print("municipality \(target.acting): \(users.count) accounts, \(users.filter { !$0.disabled }.count) enabled, "
                  + "\(users.filter(\.dormant).count) dormant (unused \(answer.dormantDays)+ days), \(users.filter(\.shared).count) shared, "
                  + "\(users.filter(\.locked).count) locked, \(users.filter(\.disabled).count) disabled")
            let needAction = users.filter { !$0.disabled && ($0.dormant || $0.locked) }
            for u in needAction {
                print("review: \(u.login) is \(u.dormant ? "dormant" : "locked"): disable it if nobody needs it (renkei user disable --node \(node) --login \(u.login) --reason ...)")
            }
            print("recorded as operation-log entry \(answer.reviewAuditSequence)")
        }
    }
}

struct UserRoles: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roles",
        abstract: "Print the permission matrix: which role may do which operation.")

    func run() throws {
        print(PermissionMatrix.markdownTable())
    }
}

/// What an authenticator app shows for a secret: for scripted demos and
/// for checking an enrolment, not for everyday logins.
struct UserTOTP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "totp",
        abstract: "Print the current one-time code for a base32 TOTP secret (as an authenticator app would).",
        shouldDisplay: false)

    @Option(help: ArgumentHelp("A file holding the base32 secret `renkei user add` printed.", valueName: "file"))
    var secretFile: String

    func run() throws {
        try reportingFailures {
            let text = try KitPassphraseOptions.readFile(secretFile).uppercased().filter { !$0.isWhitespace && $0 != "=" }
            var bits = 0, value: UInt32 = 0
            var secret: [UInt8] = []
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
            for c in text {
                guard let index = alphabet.firstIndex(of: c) else {
                    throw CLIFailure("--secret-file: not base32 (A-Z, 2-7)", exitCode: .validationFailure)
                }
                value = value << 5 | UInt32(index)
                bits += 5
                if bits >= 8 {
                    secret.append(UInt8(truncatingIfNeeded: value >> UInt32(bits - 8)))
                    bits -= 8
                }
            }
            guard secret.count >= 10 else { throw CLIFailure("--secret-file: the secret is too short", exitCode: .validationFailure) }
            print(TOTP(secret: secret).code(at: Date()))
        }
    }
}

struct MediaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media",
        abstract: "Removable media holding exports.",
        subcommands: [MediaErased.self, MediaOpen.self])
}

struct MediaErased: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erased",
        abstract: "Record that a medium holding an export was erased or destroyed.",
        discussion: """
        Give the export id that `renkei export vaccinations --node DIR --media-passphrase-file F` \
        printed. The report goes into the municipality's operation log next to the export's creation.
        """)

    @Option(help: ArgumentHelp("The operator view of the running node.", valueName: "dir"))
    var node: String
    @Option(help: "The export id (a UUID).")
    var id: String
    @Option(help: "How: a-z and - only, e.g. overwritten, destroyed, shredded.")
    var method: String

    func run() async throws {
        try await reportingFailuresAsync {
            let target = try ViewTarget(node)
            var request = Renkei_Admin_V1_MediaErasedRequest()
            request.actingCode = target.acting.rawValue
            request.mediaID = id
            request.method = method
            let answer = try await target.call(request) { client, call in
                return try await Renkei_Admin_V1_Records.Client(wrapping: client).reportMediaErased(call)
            }
            print("recorded: medium of export \(id) \(method) (operation-log entry \(answer.auditSequence))")
        }
    }
}

struct MediaOpen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "Decrypt an export sealed for removable media, with its passphrase.",
        discussion: """
        Reads a file written by `renkei export vaccinations --node DIR --media-passphrase-file F` and \
        writes the CSV to --out (0600; must not exist). A wrong passphrase, or any change, truncation or \
        reordering of the sealed file, is refused and nothing is written.
        """)

    @Option(name: .customLong("in"), help: ArgumentHelp("The sealed export.", valueName: "file"))
    var input: String
    @Option(help: ArgumentHelp("A file whose first line is the passphrase.", valueName: "file"))
    var passphraseFile: String
    @Option(help: ArgumentHelp("Where to write the CSV.", valueName: "file"))
    var out: String

    func run() throws {
        try reportingFailures {
            if FileManager.default.fileExists(atPath: out) {
                throw CLIFailure("--out \(out) exists; choose a new file", exitCode: .validationFailure)
            }
            let passphrase = try KitPassphraseOptions.readFile(passphraseFile)
            let bytes: [UInt8]
            do {
                bytes = try MediaSeal.open(path: input, passphrase: passphrase)
            } catch let error as CryptoError {
                throw CLIFailure(error.message, exitCode: CLIFailure.rejected)
            }
            do {
                try SecureFile.writeAtomically(bytes, toPath: out)
            } catch {
                throw CLIFailure("--out: cannot write \(out): \(error)")
            }
            print("opened \(input): \(bytes.count) bytes written to \(out)")
        }
    }
}

struct AssessmentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assessment",
        abstract: "Figures for the specific personal information protection assessment (特定個人情報保護評価).",
        subcommands: [AssessmentReport.self])
}

struct AssessmentReport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print the node's own figures for the assessment form, for the view's municipality.",
        discussion: """
        People held, accounts by role, dormant and shared accounts, record items, tenants on the node, \
        backup site and mode, encryption, and the last access review (`renkei user review`). Ops/assessment.md \
        maps each safeguard of the assessment to the feature and the test behind it. Administrator or auditor.
        """)

    @Option(help: ArgumentHelp("The operator view of the running node.", valueName: "dir"))
    var node: String
    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        try await reportingFailuresAsync {
            let target = try ViewTarget(node)
            var request = Renkei_Admin_V1_AssessmentFiguresRequest()
            request.actingCode = target.acting.rawValue
            let f = try await target.call(request) { client, call in
                return try await Renkei_Admin_V1_Records.Client(wrapping: client).assessmentFigures(call)
            }
            if json {
                print(try f.jsonString())
                return
            }
            let roles = f.accountsByRole.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("""
            municipality          \(f.code) \(f.name)
            people held           \(f.residents) residents, \(f.vaccinations) vaccination records, \(f.receivedFiles) files received from other municipalities
            tenants on this node  \(f.tenantsOnNode)
            accounts              \(f.accountsEnabled) enabled (\(roles.isEmpty ? "none" : roles)), \(f.accountsDisabled) disabled, \(f.accountsDormant) dormant, \(f.accountsShared) shared
            last access review    \(f.lastReviewUnixMillis == 0 ? "never (run renkei user review)" : TimeText.iso(f.lastReviewUnixMillis))
            backup site           \(f.backupSite.isEmpty ? "none configured" : "\(f.backupSite) (\(f.backupMode)), ciphertext only")
            encryption            \(f.encryption)
            record items          \(f.recordItems.count): \(f.recordItems.joined(separator: "、"))
            """)
        }
    }
}
