import Foundation
import RenkeiCore
import RenkeiPKI

/// A scratch directory removed at the end of the test.
final class TempDir {
    let path = NSTemporaryDirectory() + "renkei-pki-\(UUID().uuidString)"
    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

let matsue = try! MunicipalityCode("322016")
let izumo = try! MunicipalityCode("322032")
let day: TimeInterval = 86_400

func makeCA(_ name: String = "Test Federation CA") throws -> FederationCA {
    try FederationCA.create(name: name, validDays: 365)
}

func nodeRequest(name: String = "matsue", codes: [MunicipalityCode] = [matsue],
                 notBefore: Date = Date().addingTimeInterval(-60), notAfter: Date = Date().addingTimeInterval(30 * day)) -> CertificateRequest {
    CertificateRequest(name: name, role: .node, municipalityCodes: codes, dnsNames: ["localhost"],
                       ipAddresses: ["127.0.0.1", "::1"], notBefore: notBefore, notAfter: notAfter)
}

func mode(_ path: String) throws -> Int {
    ((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as! NSNumber).intValue
}

/// Runs `body` and returns the PKIError code it throws (nil if it does not throw).
func pkiErrorCode(_ body: () throws -> Void) -> PKIError.Code? {
    do { try body() } catch let e as PKIError { return e.code } catch { return nil }
    return nil
}

func pkiErrorCode(_ body: () async throws -> Void) async -> PKIError.Code? {
    do { try await body() } catch let e as PKIError { return e.code } catch { return nil }
    return nil
}
