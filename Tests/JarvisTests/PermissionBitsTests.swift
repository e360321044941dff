import Foundation
import JarvisJSON
import JarvisAccess
import Testing

@testable import JarvisHTTP

@Suite struct PermissionBitsTests {
    /// Random names over a few resources, so wildcards and exact names overlap.
    static func randomPermission(_ generator: inout some RandomNumberGenerator, resources: Int, actions: Int) -> Permission {
        if Int.random(in: 0..<50, using: &generator) == 0 { return "*" }
        let resource = "res\(Int.random(in: 0..<resources, using: &generator))"
        let action = Int.random(in: 0..<(actions + 1), using: &generator)
        return Permission(validating: action == actions ? "\(resource):*" : "\(resource):act\(action)")!
    }

    @Test func bitsetDecisionsAgreeWithTheSetsIncludingSparseHighIDs() {
        var generator = SystemRandomNumberGenerator()
        // Enough distinct names that many ids land past the 256 inline bits.
        for i in 0..<400 { _ = PermissionIDs.shared.id(for: Permission(validating: "bitstest\(i):read")!) }
        #expect(PermissionIDs.shared.count > 256)
        for _ in 0..<300 {
            let granted = PermissionSet((0..<Int.random(in: 0..<12, using: &generator)).map { _ in
                Int.random(in: 0..<2, using: &generator) == 0
                    ? Self.randomPermission(&generator, resources: 6, actions: 4)
                    : Permission(validating: "bitstest\(Int.random(in: 0..<400, using: &generator)):read")!
            })
            let bits = PermissionBits(granted)
            for _ in 0..<40 {
                let asked = Int.random(in: 0..<3, using: &generator) == 0
                    ? Permission(validating: "bitstest\(Int.random(in: 0..<400, using: &generator)):read")!
                    : Self.randomPermission(&generator, resources: 8, actions: 6)
                let probe = PermissionIDs.shared.probe(asked.name)!
                #expect(bits.allows(probe) == granted.allows(asked), "\(granted.names) asked \(asked)")
            }
        }
    }

    @Test func probingNamesFromRequestsNeverGrowsTheTable() {
        for i in 0..<10_000 {
            _ = PermissionIDs.shared.probe("hostile\(i):probe\(i)")
            _ = PermissionIDs.shared.probe("not a permission \(i)")
        }
        // Interned names have ids; every probed one still has none (other tests intern concurrently,
        // so the table's size proves nothing).
        #expect((0..<10_000).allSatisfy { PermissionIDs.shared.probe("hostile\($0):probe\($0)")?.exact == -1 })
        #expect(PermissionIDs.shared.probe("not a permission") == nil)
        #expect(PermissionIDs.shared.probe("Documents:read") == nil)
    }

    @Test func aWildcardRegisteredAfterAProbeIsSeenByTheNextProbe() {
        let name = "late\(UInt32.random(in: 0...UInt32.max)):read"
        let before = PermissionIDs.shared.probe(name)!
        #expect(before.exact == -1)
        let grants = PermissionBits(PermissionSet([Permission(validating: name.replacingOccurrences(of: ":read", with: ":*"))!]))
        #expect(grants.allows(PermissionIDs.shared.probe(name)!))
    }

    @Test func callersWithTheSameRolesShareOnePermissionSet() {
        let tenant = UUID()
        let a = Caller(tenantID: tenant, tenantSlug: "t", principalID: UUID(), kind: .user, roles: ["developer"], apiKeyID: nil)
        let b = Caller(tenantID: tenant, tenantSlug: "t", principalID: UUID(), kind: .user, roles: ["developer"], apiKeyID: nil)
        #expect(a.grants === b.grants)
        #expect(a.tenant === b.tenant)
        #expect(a.allows("documents:write") && !a.allows("admin:user"))
    }

    @Test func uuidTextIsTheLowercaseCanonicalForm() {
        for _ in 0..<100 {
            let id = UUID()
            #expect(id.lowercasedText == id.uuidString.lowercased())
            var out: [UInt8] = []
            id.appendLowercased(to: &out)
            #expect(String(decoding: out, as: UTF8.self) == id.uuidString.lowercased())
        }
    }
}
