/// A cost center (a department, a project) that principals and API keys carry, so their usage is
/// attributed to it when it is stored: 1-64 letters, digits, '.', '_' or '-', starting with a
/// letter or digit (the database's `cost_center` domain says the same).
public enum CostCenter {
    public static let rule = "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"

    public static func isValid(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        func allowed(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }
        return (1...64).contains(bytes.count) && allowed(bytes[0]) && bytes.allSatisfy { allowed($0) || $0 == 46 || $0 == 95 || $0 == 45 }
    }

    static func validate(_ value: String, field: String = "cost_center") throws(TenancyError) {
        guard isValid(value) else { throw .invalid(field: field, reason: rule) }
    }
}
