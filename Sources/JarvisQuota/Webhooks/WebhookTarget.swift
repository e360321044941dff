internal import struct Foundation.URLComponents
internal import Glibc
internal import NIOPosix

/// Where a webhook posts, and the check that keeps it from posting inside our own network.
///
/// A tenant chooses the URL, and the server makes the request: without a check, `http://127.0.0.1`,
/// `http://169.254.169.254/` (cloud metadata) or any private address is a server-side request
/// forgery. The host is resolved and every address it resolves to must be public; this is done when
/// the webhook is added and again before each delivery (a name may resolve elsewhere by then), and
/// the delivery then connects to the address that was checked, not to a second lookup.
public struct WebhookTarget: Sendable, Equatable {
    public let url: String
    let scheme: String
    /// Without brackets for IPv6 literals.
    let host: String
    let port: Int

    /// Refused targets, in words fit for an API answer and a delivery log.
    public enum Refusal: Error, Equatable, Sendable {
        case malformed(String)
        case unresolvable
        case forbiddenAddress(String)
    }

    public init(parsing url: String) throws(Refusal) {
        guard url.utf8.count <= 2000, !url.unicodeScalars.contains(where: { $0.value <= 32 || $0.value == 127 }) else {
            throw .malformed("an http or https URL of at most 2000 characters, without spaces or control characters")
        }
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw .malformed("an http or https URL")
        }
        guard components.user == nil, components.password == nil else { throw .malformed("user names and passwords in the URL are not accepted") }
        var host = components.percentEncodedHost ?? ""
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains("%") else { throw .malformed("the URL must name a host") }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { throw .malformed("the port must be 1-65535") }
        self.url = url
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
    }
}

/// Resolves webhook targets and refuses the ones that reach private, loopback, link-local or other
/// non-public addresses. `allowLoopback` (tests, or a receiver on the same host) lets 127.0.0.0/8
/// and ::1 through, and nothing else.
public struct WebhookTargetPolicy: Sendable {
    public var allowLoopback: Bool

    public init(allowLoopback: Bool) { self.allowLoopback = allowLoopback }

    /// - Returns: the addresses to connect to, every one of them allowed.
    public func vet(_ target: WebhookTarget) async throws(WebhookTarget.Refusal) -> [String] {
        let addresses: [IPAddress]
        do {
            addresses = try await Self.resolve(target.host, port: target.port)
        } catch {
            throw .unresolvable
        }
        guard !addresses.isEmpty else { throw .unresolvable }
        if let bad = addresses.first(where: { !$0.isPublic && !(allowLoopback && $0.isLoopback) }) {
            throw .forbiddenAddress(bad.text)
        }
        return addresses.map(\.text)
    }

    /// getaddrinfo on a thread of NIO's pool: it blocks, and must not block the cooperative pool.
    static func resolve(_ host: String, port: Int) async throws -> [IPAddress] {
        try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return [] }
            defer { freeaddrinfo(first) }
            var found: [IPAddress] = []
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let entry = cursor {
                if let address = IPAddress(entry.pointee.ai_addr), !found.contains(address) { found.append(address) }
                cursor = entry.pointee.ai_next
            }
            return found
        }
    }
}

/// An IPv4 or IPv6 address as bytes, with the ranges a webhook may not reach.
struct IPAddress: Equatable, Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    init?(_ address: UnsafeMutablePointer<sockaddr>?) {
        guard let address else { return nil }
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            let v4 = UnsafeRawPointer(address).assumingMemoryBound(to: sockaddr_in.self).pointee
            bytes = withUnsafeBytes(of: v4.sin_addr.s_addr) { Array($0) }
        case AF_INET6:
            let v6 = UnsafeRawPointer(address).assumingMemoryBound(to: sockaddr_in6.self).pointee
            bytes = withUnsafeBytes(of: v6.sin6_addr) { Array($0) }
        default:
            return nil
        }
    }

    var text: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }

    var isLoopback: Bool {
        bytes.count == 4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    /// False for every range that is not the public internet: loopback, private, shared (CGNAT),
    /// link-local (cloud metadata), multicast, reserved, documentation and benchmark ranges, and
    /// IPv6 forms that carry one of those IPv4 addresses.
    var isPublic: Bool {
        if bytes.count == 4 { return Self.isPublicV4(bytes) }
        guard bytes.count == 16 else { return false }
        let b = bytes
        // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): judge the IPv4 inside.
        if b[0..<10].allSatisfy({ $0 == 0 }) && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0)) {
            return Self.isPublicV4(Array(b[12..<16]))
        }
        if b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b { return Self.isPublicV4(Array(b[12..<16])) }
        if b[0] == 0xff { return false }  // multicast
        if b[0] & 0xfe == 0xfc { return false }  // unique local fc00::/7
        if b[0] == 0xfe && b[1] & 0xc0 == 0x80 { return false }  // link-local fe80::/10
        if b[0] == 0xfe && b[1] & 0xc0 == 0xc0 { return false }  // site-local fec0::/10
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8 { return false }  // documentation 2001:db8::/32
        if b[0] == 0x20 && b[1] == 0x02 { return Self.isPublicV4(Array(b[2..<6])) }  // 6to4 carries an IPv4
        if b[0] == 0x01 && b[1..<8].allSatisfy({ $0 == 0 }) { return false }  // discard 100::/64
        return b[0] & 0xe0 == 0x20  // global unicast 2000::/3 only
    }

    static func isPublicV4(_ b: [UInt8]) -> Bool {
        switch (b[0], b[1], b[2]) {
        case (0, _, _), (10, _, _), (127, _, _): return false
        case (100, 64...127, _): return false  // shared address space (CGNAT)
        case (169, 254, _): return false  // link-local, cloud metadata
        case (172, 16...31, _): return false
        case (192, 0, 0), (192, 0, 2), (192, 88, 99), (192, 168, _): return false
        case (198, 18...19, _), (198, 51, 100), (203, 0, 113): return false
        case (224...255, _, _): return false  // multicast, reserved, broadcast
        default: return true
        }
    }
}
