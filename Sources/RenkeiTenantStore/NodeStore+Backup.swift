import RenkeiStore

extension NodeStore {
    /// The node's database, for the backup shipper: it reads and discards
    /// the change log, observes commits and takes checkpoints. Not for
    /// reading or writing records (those go through `tenant(_:)`).
    public var backupDatabase: Database { db }
}
