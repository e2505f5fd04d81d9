import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiAccess
import RenkeiCrypto
import RenkeiWire

/// An operator's login session as the CLI keeps it between commands:
/// `DIR/.session` in the operator view (0600), or `RENKEI_SESSION_FILE`.
/// It holds the token only the node can check; it ends on the node after the
/// idle time or lifetime, or when the node restarts.
public struct OperatorSessionFile: Sendable, Codable, Equatable {
    public var token: String
    public var login: String
    public var code: String
    public var roles: [String]
    public var terminal: String
    public var openedAtUnixMillis: UInt64

    public static let fileName = ".session"

    /// Where the session of view `directory` is kept.
    public static func path(viewDirectory directory: String) -> String {
        if let path = ProcessInfo.processInfo.environment["RENKEI_SESSION_FILE"], !path.isEmpty { return path }
        return directory + "/" + fileName
    }

    public static func load(viewDirectory directory: String) -> OperatorSessionFile? {
        guard let data = FileManager.default.contents(atPath: path(viewDirectory: directory)) else { return nil }
        return try? JSONDecoder().decode(OperatorSessionFile.self, from: data)
    }

    public func save(viewDirectory directory: String) throws(PeerError) {
        do {
            try SecureFile.writeAtomically(Array(try JSONEncoder().encode(self)), toPath: Self.path(viewDirectory: directory))
        } catch {
            throw PeerError(.configuration, "cannot keep the session in \(Self.path(viewDirectory: directory))", cause: SendableDescription(error))
        }
    }

    public static func remove(viewDirectory directory: String) {
        unlink(path(viewDirectory: directory))
    }
}

/// A throwaway cluster's operator account (`renkei cluster up` writes it
/// beside the demo recovery-kit passphrase): with it in the view, the CLI
/// logs in by itself so the demo and the cluster tests run unattended. A
/// real node's views never hold this file; operators log in with
/// `renkei login`.
public struct DemoCredentials: Sendable, Codable, Equatable {
    public var login: String
    public var password: String
    public var totpSecretHex: String
    public var terminal: String

    public static let fileName = "demo-credentials.json"

    public init(login: String, password: String, totpSecretHex: String, terminal: String) {
        self.login = login
        self.password = password
        self.totpSecretHex = totpSecretHex
        self.terminal = terminal
    }

    public static func load(viewDirectory directory: String) -> DemoCredentials? {
        guard let data = FileManager.default.contents(atPath: directory + "/" + fileName) else { return nil }
        return try? JSONDecoder().decode(DemoCredentials.self, from: data)
    }

    public func save(viewDirectory directory: String) throws {
        try SecureFile.writeAtomically(Array(try JSONEncoder().encode(self)), toPath: directory + "/" + Self.fileName)
    }

    /// The current one-time code.
    public func totp(at date: Date) -> String {
        TOTP(secret: hexDecode(Array(totpSecretHex.utf8)) ?? []).code(at: date)
    }
}

/// Logging in and carrying the session on admin calls.
public enum OperatorLogin {
    /// Logs in on the admin socket at `socket` and returns the session.
    public static func login(socket: String, login: String, password: String, totp: String, terminal: String) async throws(PeerError) -> OperatorSessionFile {
        var request = Renkei_Admin_V1_LoginRequest()
        request.login = login
        request.password = password
        request.totp = totp
        request.terminal = terminal
        let sent = request
        let answer = try await AdminClient.withConnection(socket: socket) { client in
            try await Renkei_Admin_V1_Access.Client(wrapping: client).login(sent)
        }
        return OperatorSessionFile(token: answer.session, login: login, code: answer.code, roles: answer.roles, terminal: terminal,
                                   openedAtUnixMillis: UInt64(Date().timeIntervalSince1970 * 1000))
    }

    /// Runs `body` with the session token of operator view `directory`.
    ///
    /// Without a saved session, or when the node says it ended
    /// (UNAUTHENTICATED), a view with demo credentials logs in again by itself
    /// (waiting for the next TOTP step if the code was just used); any other
    /// view fails with a message saying to run `renkei login`.
    public static func withSession<T: Sendable>(
        viewDirectory directory: String, socket: String,
        _ body: @Sendable (String) async throws(PeerError) -> T
    ) async throws(PeerError) -> T {
        var session = OperatorSessionFile.load(viewDirectory: directory)
        // Demo credentials stand in only for the demo account itself: a
        // session someone opened with `renkei login` is never silently
        // replaced by another identity.
        let demo = DemoCredentials.load(viewDirectory: directory).flatMap { demo in
            session.map { $0.login == demo.login } ?? (ProcessInfo.processInfo.environment["RENKEI_SESSION_FILE"] ?? "").isEmpty ? demo : nil
        }
        if session == nil, let demo {
            session = try await demoLogin(demo, directory: directory, socket: socket)
        }
        guard let current = session else {
            let message = "not logged in: run renkei login --node \(directory.isEmpty ? "DIR" : directory)"
            throw PeerError(.rpc, message, cause: RPCError(code: .unauthenticated, message: message))
        }
        do throws(PeerError) {
            return try await body(current.token)
        } catch {
            guard (error.cause as? RPCError)?.code == .unauthenticated else { throw error }
            guard let demo else {
                throw PeerError(.rpc, "\(error.message) (renkei login --node \(directory))", cause: error.cause)
            }
            let fresh = try await demoLogin(demo, directory: directory, socket: socket)
            return try await body(fresh.token)
        }
    }

    private static func demoLogin(_ demo: DemoCredentials, directory: String, socket: String) async throws(PeerError) -> OperatorSessionFile {
        var lastError: PeerError?
        for attempt in 0..<3 {
            if attempt > 0 {
                // A TOTP code counts once: wait for the next 30-second step.
                let now = Date().timeIntervalSince1970
                let wait = 30 - now.truncatingRemainder(dividingBy: 30) + 0.5
                try? await Task.sleep(for: .seconds(wait))
            }
            do throws(PeerError) {
                let session = try await login(socket: socket, login: demo.login, password: demo.password,
                                              totp: demo.totp(at: Date()), terminal: demo.terminal)
                try session.save(viewDirectory: directory)
                return session
            } catch {
                guard (error.cause as? RPCError)?.code == .unauthenticated else { throw error }
                lastError = error
            }
        }
        throw lastError!
    }
}
