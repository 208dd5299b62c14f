import MailCore
import MailDomain

// Text columns with a CHECK constraint, decoded strictly (see PostgresRows.swift).
extension RecordType: PostgresDecodable {}
extension CaseDistribution.Mode: PostgresDecodable {}
extension MailAccountRecord.Kind: PostgresDecodable {}
extension CaseRouting.BreakerSlot: PostgresDecodable {}
extension CaseRouting.BreakerAnswer: PostgresDecodable {}
