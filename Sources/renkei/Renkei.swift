import ArgumentParser

@main
struct Renkei: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renkei",
        abstract: "Renkei (連携): municipal vaccination-record nodes — encrypted, partitioned, exchanging over mutual TLS.",
        discussion: """
        A node keeps the vaccination records of one or more municipalities (tenants) in an \
        encrypted RocksDB store. Start with `renkei init`, add tenants with `renkei tenant add`, \
        then import resident and vaccination CSV files.

        Exit codes: 0 success, 1 failure, 2 rejected input (nothing stored), 3 not found, 4 not logged in or not allowed, 64 usage.
        """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, TenantCommand.self, GenCommand.self, ImportCommand.self,
            ResidentCommand.self, ExportCommand.self, BenchCommand.self,
            CACommand.self, DirectoryCommand.self,
            NodeCommand.self, InquireCommand.self, AuditCommand.self,
            ClusterCommand.self,
            VaultCommand.self, BackupCommand.self, RestoreCommand.self,
            LoginCommand.self, LogoutCommand.self, UserCommand.self, MediaCommand.self, AssessmentCommand.self, DoctorCommand.self,
            KeyCommand.self,
        ]
    )
}
