/// A set of interned permission ids. The first 256 ids (the built-ins and the earliest
/// registered permissions) are four inline words; later ids, sparse across tenants, are a
/// sorted array searched by bisection, so a caller's set stays small however many tenants
/// registered permissions.
public struct PermissionBits: Sendable, Equatable {
    private var low: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var high: [Int32] = []

    public init(_ permissions: PermissionSet, ids: PermissionIDs = .shared) {
        var high: [Int32] = []
        for permission in permissions.granted {
            let id = ids.id(for: permission)
            if id < 256 { insertLow(id) } else { high.append(id) }
        }
        self.high = high.sorted()
    }

    private mutating func insertLow(_ id: Int32) {
        let bit = UInt64(1) << UInt64(id & 63)
        switch id >> 6 {
        case 0: low.0 |= bit
        case 1: low.1 |= bit
        case 2: low.2 |= bit
        default: low.3 |= bit
        }
    }

    @inline(__always)
    public func contains(_ id: Int32) -> Bool {
        if id < 0 { return false }
        if id < 256 {
            let word: UInt64
            switch id >> 6 {
            case 0: word = low.0
            case 1: word = low.1
            case 2: word = low.2
            default: word = low.3
            }
            return word & (UInt64(1) << UInt64(id & 63)) != 0
        }
        return high.sortedContains(id)
    }

    /// True when the set allows the probed permission: by name, by its resource's wildcard, or by `*`.
    @inline(__always)
    public func allows(_ probe: PermissionProbe) -> Bool {
        contains(probe.exact) || contains(probe.wildcard) || contains(PermissionIDs.everything)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.low == b.low && a.high == b.high
    }
}
