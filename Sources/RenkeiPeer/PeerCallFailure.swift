import GRPCCore

extension PeerError {
    /// A failed call to a peer node, as the requester reports it.
    ///
    /// UNAVAILABLE (no connection: refused, no route, the connect timed out)
    /// and DEADLINE_EXCEEDED (no answer within the call's timeout: the link
    /// went away mid-call, or the node is overloaded) are `.connection`, the
    /// retryable kind: the admin API answers it as UNAVAILABLE and a bulk run
    /// tries the node again. The message names the node and the codes asked
    /// of it, so an operator knows whom to wait for; it never carries the
    /// request. Any other status stays `.rpc`, as the peer answered it.
    static func peerCall(_ error: RPCError, node: String, codes: [String], endpoint: String,
                         timeoutSeconds: Double? = nil) -> PeerError {
        let peer = "node \(node) (\(codes.joined(separator: ", "))) at \(endpoint)"
        switch error.code {
        case .unavailable:
            return PeerError(.connection, "\(peer) is unreachable (\(error.message)); try again when it is back", cause: error)
        case .deadlineExceeded:
            let within = timeoutSeconds.map { " within \(Self.seconds($0)) s" } ?? ""
            return PeerError(.connection, "\(peer) did not answer\(within) (unreachable or overloaded); try again later", cause: error)
        default:
            return PeerError(.rpc, "\(endpoint) answered \(error.code): \(error.message)", cause: error)
        }
    }

    /// `10`, `2.5`.
    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
