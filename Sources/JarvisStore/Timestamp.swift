public import struct Foundation.Date
internal import Glibc

/// RFC 3339 text for `timestamptz` values, always UTC (sessions run with `TimeZone=UTC`).
public enum Timestamp {
    /// `2026-11-22T02:14:59.123456Z`
    public static func format(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = Int(seconds.rounded(.down))
        var micros = Int(((seconds - Double(whole)) * 1_000_000).rounded())
        if micros >= 1_000_000 { whole += 1; micros -= 1_000_000 }
        var t = time_t(whole)
        var parts = tm()
        gmtime_r(&t, &parts)
        // Written digit by digit: this runs once per usage event and per audit row.
        var out = [UInt8](repeating: 48, count: 27)
        func put(_ value: Int, at end: Int, digits: Int) {
            var v = value
            for i in stride(from: end, to: end - digits, by: -1) {
                out[i] = UInt8(48 + v % 10)
                v /= 10
            }
        }
        put(Int(parts.tm_year) + 1900, at: 3, digits: 4)
        out[4] = 45
        put(Int(parts.tm_mon) + 1, at: 6, digits: 2)
        out[7] = 45
        put(Int(parts.tm_mday), at: 9, digits: 2)
        out[10] = 84
        put(Int(parts.tm_hour), at: 12, digits: 2)
        out[13] = 58
        put(Int(parts.tm_min), at: 15, digits: 2)
        out[16] = 58
        put(Int(parts.tm_sec), at: 18, digits: 2)
        out[19] = 46
        put(micros, at: 25, digits: 6)
        out[26] = 90
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses PostgreSQL's ISO output (`2026-11-22 02:14:59.123456+00`) and RFC 3339
    /// (`2026-11-22T02:14:59Z`, `...+01:00`, fractions optional).
    /// - Returns: nil for anything else, including impossible dates.
    public static func parse(_ text: some StringProtocol) -> Date? {
        let b = Array(text.utf8)
        guard b.count >= 19 else { return nil }
        func digits(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for i in from..<(from + count) {
                guard i < b.count, b[i] >= 48, b[i] <= 57 else { return nil }
                value = value * 10 + Int(b[i] - 48)
            }
            return value
        }
        guard let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45, let day = digits(8, 2),
            b[10] == 84 || b[10] == 116 || b[10] == 32,
            let hour = digits(11, 2), b[13] == 58, let minute = digits(14, 2), b[16] == 58, let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var index = 19
        var fraction = 0.0
        if index < b.count, b[index] == 46 {
            index += 1
            var scale = 0.1
            let start = index
            while index < b.count, b[index] >= 48, b[index] <= 57 {
                fraction += Double(b[index] - 48) * scale
                scale /= 10
                index += 1
            }
            if index == start { return nil }
        }
        var offsetSeconds = 0
        guard index < b.count else { return nil }
        switch b[index] {
        case 90, 122:  // Z z
            index += 1
        case 43, 45:  // + -
            let sign = b[index] == 43 ? 1 : -1
            guard let oh = digits(index + 1, 2) else { return nil }
            index += 3
            var om = 0
            if index < b.count, b[index] == 58 {
                guard let m = digits(index + 1, 2) else { return nil }
                om = m
                index += 3
            } else if index + 1 < b.count, let m = digits(index, 2) {
                om = m
                index += 2
            }
            guard oh < 24, om < 60 else { return nil }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        default:
            return nil
        }
        guard index == b.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        // timegm normalises 31 February into March; refuse dates that moved.
        guard parts.tm_mday == Int32(day), parts.tm_mon == Int32(month - 1) else { return nil }
        return Date(timeIntervalSince1970: Double(epoch - offsetSeconds) + fraction)
    }

}
