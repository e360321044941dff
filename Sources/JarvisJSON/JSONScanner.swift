/// A cursor over UTF-8 JSON with just what the hot bodies need (objects, arrays, strings,
/// non-negative integers). Only the hot path reads with it — `/v1/check` and `/v1/usage`, where
/// the benchmark showed Foundation's decoder costing more than the decision — and the JWT
/// verifier; everything else decodes with `JSONDecoder` into Codable types. Errors name the byte
/// offset; nesting is bounded by the callers' fixed shapes.
public struct JSONScanner {
    public enum Failure: Error { case invalid(String) }

    let bytes: [UInt8]
    /// Longest string accepted, in bytes.
    let maxString: Int
    var index = 0

    public init(bytes: [UInt8], maxString: Int) {
        self.bytes = bytes
        self.maxString = maxString
    }

    public var atEnd: Bool { index >= bytes.count }

    public mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 32 || bytes[index] == 9 || bytes[index] == 10 || bytes[index] == 13 { index += 1 }
    }

    public mutating func expect(_ byte: UInt8) throws(Failure) {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { throw .invalid("malformed JSON at byte \(index)") }
        index += 1
    }

    public mutating func object(_ member: (String, inout JSONScanner) throws(Failure) -> Void) throws(Failure) {
        try expect(123)  // {
        skipSpace()
        if index < bytes.count, bytes[index] == 125 { index += 1; return }
        while true {
            let key = try string()
            try expect(58)  // :
            skipSpace()
            try member(key, &self)
            skipSpace()
            guard index < bytes.count else { throw .invalid("unterminated object") }
            if bytes[index] == 44 { index += 1; continue }  // ,
            if bytes[index] == 125 { index += 1; return }  // }
            throw .invalid("malformed JSON at byte \(index)")
        }
    }

    public mutating func array(_ element: (inout JSONScanner) throws(Failure) -> Void) throws(Failure) {
        try expect(91)  // [
        skipSpace()
        if index < bytes.count, bytes[index] == 93 { index += 1; return }
        while true {
            try element(&self)
            skipSpace()
            guard index < bytes.count else { throw .invalid("unterminated array") }
            if bytes[index] == 44 { index += 1; continue }
            if bytes[index] == 93 { index += 1; return }
            throw .invalid("malformed JSON at byte \(index)")
        }
    }

    public mutating func string() throws(Failure) -> String {
        skipSpace()
        guard index < bytes.count, bytes[index] == 34 else { throw .invalid("expected a string at byte \(index)") }
        index += 1
        let start = index
        // Fast path: no escapes.
        while index < bytes.count, bytes[index] != 34, bytes[index] != 92 {
            guard bytes[index] >= 32 else { throw .invalid("control character in string") }
            index += 1
        }
        guard index < bytes.count else { throw .invalid("unterminated string") }
        guard index - start <= maxString else { throw .invalid("string too long") }
        if bytes[index] == 34 {
            let text = String(validating: bytes[start..<index], as: UTF8.self)
            index += 1
            guard let text else { throw .invalid("invalid UTF-8") }
            return text
        }
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == 34 {
                guard out.count <= maxString, let text = String(validating: out, as: UTF8.self) else {
                    throw .invalid("invalid string")
                }
                return text
            }
            if byte < 32 { throw .invalid("control character in string") }
            guard byte == 92 else { out.append(byte); continue }
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case 34, 92, 47: out.append(escape)
            case 98: out.append(8)
            case 102: out.append(12)
            case 110: out.append(10)
            case 114: out.append(13)
            case 116: out.append(9)
            case 117:
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 1 < bytes.count, bytes[index] == 92, bytes[index + 1] == 117 else { throw .invalid("lone surrogate") }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw .invalid("lone surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw .invalid("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(unicode)).utf8))
            default: throw .invalid("invalid escape")
            }
        }
        throw .invalid("unterminated string")
    }

    /// A non-negative whole number, at most `max`. As JSON Schema's `integer` does, any number
    /// whose value is whole counts (`1.0`, `1e3`, `2.50e1`); a fraction that is not zero does not.
    public mutating func integer(max: Int64, name: String) throws(Failure) -> Int64 {
        skipSpace()
        var digits: [UInt8] = []
        let start = index
        while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
            digits.append(bytes[index] - 48)
            index += 1
        }
        guard index > start, index - start == 1 || bytes[start] != 48 else { throw .invalid("\(name): must be a whole number") }
        var scale = 0
        if index < bytes.count, bytes[index] == 46 {  // .
            index += 1
            let fraction = index
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                digits.append(bytes[index] - 48)
                index += 1
            }
            guard index > fraction else { throw .invalid("\(name): must be a whole number") }
            scale -= index - fraction
        }
        if index < bytes.count, bytes[index] == 101 || bytes[index] == 69 {  // e E
            index += 1
            var negative = false
            if index < bytes.count, bytes[index] == 43 || bytes[index] == 45 {
                negative = bytes[index] == 45
                index += 1
            }
            let exponentStart = index
            var exponent = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                exponent = min(exponent * 10 + Int(bytes[index] - 48), 10_000)
                index += 1
            }
            guard index > exponentStart else { throw .invalid("\(name): must be a whole number") }
            scale += negative ? -exponent : exponent
        }
        // value = digits × 10^scale: whole when every digit below the point is zero.
        if scale < 0 {
            let dropped = digits.suffix(-scale)
            guard dropped.allSatisfy({ $0 == 0 }) else { throw .invalid("\(name): must be a whole number") }
            digits.removeLast(min(-scale, digits.count))
            scale = 0
        }
        var value: Int64 = 0
        for digit in digits + [UInt8](repeating: 0, count: Swift.min(scale, 20)) {
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            guard !overflow, times <= max - Int64(digit) else { throw .invalid("\(name): at most \(max)") }
            value = times + Int64(digit)
        }
        if scale > 20, value != 0 { throw .invalid("\(name): at most \(max)") }
        return value
    }

    private mutating func hex4() throws(Failure) -> UInt32 {
        guard index + 4 <= bytes.count else { throw .invalid("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[index]
            index += 1
            let digit: UInt32
            switch c {
            case 48...57: digit = UInt32(c - 48)
            case 97...102: digit = UInt32(c - 87)
            case 65...70: digit = UInt32(c - 55)
            default: throw .invalid("invalid \\u escape")
            }
            value = value << 4 | digit
        }
        return value
    }
}
