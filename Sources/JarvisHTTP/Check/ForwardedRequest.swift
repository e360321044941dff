/// The request a gateway asks `/v1/authz` about, checked and normalised before any rule sees it.
///
/// A gateway forwards the path as the client wrote it, and the upstream behind it normalises before
/// routing: `/documents/../chat/1` is served as `/chat/1`. Rules must therefore match what the
/// upstream will serve, so the path is normalised as RFC 3986 §6.2.2 does (percent-encoded
/// unreserved characters decoded, other escapes upper-cased, dot segments removed) and empty
/// segments are collapsed. What upstreams read in different ways is refused rather than guessed:
/// encoded `/`, `\` or `%`, a raw `\` or `;` (path parameters), control or non-ASCII bytes,
/// malformed escapes. The query and fragment never take part.
struct ForwardedRequest: Equatable {
    /// The method, validated: 1-16 characters of `A-Z`, `-` or `_`.
    let method: String
    /// The normalised path: starts with `/`, no empty, `.` or `..` segments, no trailing `/`.
    let path: String

    static let maxMethod = 16
    static let maxURI = 8 * 1024

    enum Refusal: Error, Equatable {
        case method(String)
        case uri(String)
    }

    /// - Parameter uri: a path with an optional query (`/a/b?x=1`) or an absolute URI.
    init(method: String, uri: String) throws(Refusal) {
        let methodBytes = method.utf8
        guard (1...Self.maxMethod).contains(methodBytes.count),
            methodBytes.allSatisfy({ ($0 >= 65 && $0 <= 90) || $0 == 45 || $0 == 95 })
        else { throw .method("the original method must be 1-\(Self.maxMethod) characters of A-Z, '-' or '_'") }
        self.method = method
        path = try Self.normalise(uri)
    }

    static func normalise(_ uri: String) throws(Refusal) -> String {
        var bytes = Array(uri.utf8)
        guard bytes.count <= maxURI else { throw .uri("the original URI is longer than \(maxURI) bytes") }
        // An absolute URI (a proxy may forward one): its path is what counts.
        if let schemeEnd = Self.absolutePrefixLength(bytes) {
            let rest = bytes[schemeEnd...]
            bytes = rest.firstIndex(of: 47).map { Array(bytes[$0...]) } ?? [47]
        }
        if let cut = bytes.firstIndex(where: { $0 == 63 || $0 == 35 }) { bytes.removeSubrange(cut...) }  // ? #
        guard bytes.first == 47 else { throw .uri("the original URI must be a path starting with '/'") }

        var segments: [[UInt8]] = []
        var segment: [UInt8] = []
        var index = 1
        func close() {
            switch segment {
            case [], [46]: break  // empty, "."
            case [46, 46]: _ = segments.popLast()  // ".."
            default: segments.append(segment)
            }
            segment = []
        }
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case 47: close()
            case 37:  // %
                guard let high = hex(bytes[safe: index]), let low = hex(bytes[safe: index + 1])
                else { throw .uri("the original URI has a malformed percent-escape") }
                index += 2
                let decoded = high << 4 | low
                if isUnreserved(decoded) {
                    segment.append(decoded)
                } else if decoded == 47 || decoded == 92 || decoded == 37 {
                    throw .uri("the original URI encodes '/', '\\' or '%', which upstreams read differently; send it decoded")
                } else if decoded < 32 || decoded == 127 {
                    throw .uri("the original URI encodes a control character")
                } else {
                    segment += [37, upperHex(decoded >> 4), upperHex(decoded & 15)]
                }
            case 92, 59:
                throw .uri("the original URI contains '\\' or ';', which upstreams read differently")
            default:
                guard isAllowedRaw(byte) else { throw .uri("the original URI contains a character that must be percent-encoded") }
                segment.append(byte)
            }
        }
        close()
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for part in segments {
            out.append(47)
            out += part
        }
        return out.isEmpty ? "/" : String(decoding: out, as: UTF8.self)
    }

    /// The length of `scheme://authority` when `bytes` starts with `http://` or `https://`.
    private static func absolutePrefixLength(_ bytes: [UInt8]) -> Int? {
        for scheme in ["http://", "https://"] {
            let prefix = Array(scheme.utf8)
            guard bytes.count >= prefix.count else { continue }
            if zip(bytes, prefix).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) { return prefix.count }
        }
        return nil
    }

    /// RFC 3986 unreserved: ALPHA DIGIT - . _ ~
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57)
            || byte == 45 || byte == 46 || byte == 95 || byte == 126
    }

    /// Unreserved, and the sub-delimiters, `:` and `@` that a path segment may hold as they are.
    private static func isAllowedRaw(_ byte: UInt8) -> Bool {
        if isUnreserved(byte) { return true }
        switch byte {
        case 33, 36, 38, 39, 40, 41, 42, 43, 44, 61, 58, 64: return true  // ! $ & ' ( ) * + , = : @
        default: return false
        }
    }

    private static func hex(_ byte: UInt8?) -> UInt8? {
        guard let byte else { return nil }
        switch byte {
        case 48...57: return byte - 48
        case 65...70: return byte - 55
        case 97...102: return byte - 87
        default: return nil
        }
    }

    private static func upperHex(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 48 + nibble : 55 + nibble }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
