internal import Foundation
import JarvisJSON
import JarvisStore

/// Renders the rows of an export's binary COPY as CSV or JSON Lines, byte for byte as PostgreSQL's
/// `COPY … (FORMAT csv)` and `row_to_json` would have written them (a test holds the two side by
/// side). PostgreSQL then only sends values as they are stored; turning a day, a uuid and an amount
/// into text here, on the other core, is what lets an export stream at the rate the rows are read.
struct ExportRenderer {
    enum Kind {
        /// `text`: CSV-quoted when needed, a JSON string.
        case text
        /// `uuid`: the lowercase 8-4-4-4-12 form.
        case uuid
        /// `date`: `YYYY-MM-DD`.
        case day
        /// `date`: `YYYY-MM` of it.
        case month
        /// `int8`: a decimal integer (a JSON number).
        case integer
        /// `int8` micro-units: a decimal with six places (a JSON number), exact.
        case micros
        /// Not a field: the same text on every row.
        case constant(String)
    }

    struct Column {
        let name: String
        let kind: Kind
        /// The field of the COPY row it is rendered from (unused for constants).
        let field: Int
    }

    enum Format { case csv, jsonl }

    let columns: [Column]
    let format: Format
    /// Per column, what precedes its value: `,` in CSV; `{"name":` or `,"name":` in JSON.
    private let prefixes: [[UInt8]]
    /// Per column, a constant's rendered value.
    private let constants: [[UInt8]?]

    init(columns: [Column], format: Format) {
        self.columns = columns
        self.format = format
        var prefixes: [[UInt8]] = []
        var constants: [[UInt8]?] = []
        for (index, column) in columns.enumerated() {
            var prefix: [UInt8] = []
            switch format {
            case .csv:
                if index > 0 { prefix.append(UInt8(ascii: ",")) }
            case .jsonl:
                prefix.append(index == 0 ? UInt8(ascii: "{") : UInt8(ascii: ","))
                Array(column.name.utf8).withUnsafeBufferPointer { JSONWriter.appendAsPostgres($0, to: &prefix) }
                prefix.append(UInt8(ascii: ":"))
            }
            prefixes.append(prefix)
            if case .constant(let text) = column.kind {
                var value: [UInt8] = []
                Array(text.utf8).withUnsafeBytes { bytes in
                    if format == .csv { Self.appendCSVText(bytes, to: &value) } else { JSONWriter.appendAsPostgres(bytes, to: &value) }
                }
                constants.append(value)
            } else {
                constants.append(nil)
            }
        }
        self.prefixes = prefixes
        self.constants = constants
    }

    /// The CSV header row (column names, quoted as values would be); nothing for JSON Lines.
    var header: [UInt8] {
        guard format == .csv else { return [] }
        var out: [UInt8] = []
        for (index, column) in columns.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            Array(column.name.utf8).withUnsafeBytes { Self.appendCSVText($0, to: &out) }
        }
        out.append(UInt8(ascii: "\n"))
        return out
    }

    /// Appends one row, ended by a newline.
    func render(_ row: BinaryCopyRow, into out: inout [UInt8]) {
        for index in columns.indices {
            out.append(contentsOf: prefixes[index])
            let column = columns[index]
            if let constant = constants[index] {
                out.append(contentsOf: constant)
                continue
            }
            guard let field = row.field(column.field) else {
                // NULL: an empty field in CSV (as COPY writes it), null in JSON.
                if format == .jsonl { out.append(contentsOf: Self.null) }
                continue
            }
            switch column.kind {
            case .text:
                if format == .csv { Self.appendCSVText(field, to: &out) } else { JSONWriter.appendAsPostgres(field, to: &out) }
            case .uuid:
                if format == .jsonl { out.append(UInt8(ascii: "\"")) }
                if field.count == 16 { UUID(uuid: field.loadUnaligned(as: uuid_t.self)).appendLowercased(to: &out) }
                if format == .jsonl { out.append(UInt8(ascii: "\"")) }
            case .day, .month:
                let monthOnly: Bool
                if case .month = column.kind { monthOnly = true } else { monthOnly = false }
                if format == .jsonl { out.append(UInt8(ascii: "\"")) }
                Self.appendDate(field, monthOnly: monthOnly, to: &out)
                if format == .jsonl { out.append(UInt8(ascii: "\"")) }
            case .integer:
                Self.appendInteger(row.integer(column.field) ?? 0, to: &out)
            case .micros:
                Self.appendMicros(row.integer(column.field) ?? 0, to: &out)
            case .constant:
                break
            }
        }
        if format == .jsonl { out.append(UInt8(ascii: "}")) }
        out.append(UInt8(ascii: "\n"))
    }

    private static let null: [UInt8] = Array("null".utf8)

    /// RFC 4180 as COPY writes it: quoted when the value holds a comma, a quote or a line break, or
    /// is empty (so it differs from NULL); quotes inside doubled.
    static func appendCSVText(_ field: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var needsQuotes = field.isEmpty
        for byte in field where byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == 0x0A || byte == 0x0D {
            needsQuotes = true
            break
        }
        guard needsQuotes else {
            out.append(contentsOf: field)
            return
        }
        out.append(UInt8(ascii: "\""))
        for byte in field {
            if byte == UInt8(ascii: "\"") { out.append(byte) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A binary `date` (days since 2000-01-01) as `YYYY-MM-DD` or `YYYY-MM`, in the proleptic
    /// Gregorian calendar PostgreSQL uses. The civil date comes from the day count by whole
    /// 400-year cycles (146,097 days each), counted from 1 March so leap days fall at a year's end.
    static func appendDate(_ field: UnsafeRawBufferPointer, monthOnly: Bool, to out: inout [UInt8]) {
        guard field.count == 4 else { return }
        let sinceMillennium = Int(Int32(bigEndian: field.loadUnaligned(as: Int32.self)))
        // Days since 0000-03-01: 2000-01-01 is day 730,425 of that count.
        let days = sinceMillennium + 730_425
        let cycle = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfCycle = days - cycle * 146_097
        let yearOfCycle = (dayOfCycle - dayOfCycle / 1_460 + dayOfCycle / 36_524 - dayOfCycle / 146_096) / 365
        let dayOfYear = dayOfCycle - (365 * yearOfCycle + yearOfCycle / 4 - yearOfCycle / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // 0 is March
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfCycle + cycle * 400 + (month <= 2 ? 1 : 0)
        appendPadded(year, digits: 4, to: &out)
        out.append(UInt8(ascii: "-"))
        appendPadded(month, digits: 2, to: &out)
        guard !monthOnly else { return }
        out.append(UInt8(ascii: "-"))
        appendPadded(day, digits: 2, to: &out)
    }

    /// `value` (not negative) in at least `digits` digits.
    static func appendPadded(_ value: Int, digits: Int, to out: inout [UInt8]) {
        var width = 1
        var rest = value / 10
        while rest > 0 { width += 1; rest /= 10 }
        for _ in width..<max(width, digits) { out.append(UInt8(ascii: "0")) }
        appendInteger(Int64(value), to: &out)
    }

    static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude, to: &out)
    }

    /// Micro-units as a decimal with exactly six places: 1500000 → `1.500000`, -1 → `-0.000001`.
    static func appendMicros(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        let magnitude = value.magnitude
        appendDigits(magnitude / 1_000_000, to: &out)
        out.append(UInt8(ascii: "."))
        var fraction = magnitude % 1_000_000
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            for index in stride(from: 5, through: 0, by: -1) {
                buffer[index] = UInt8(ascii: "0") + UInt8(fraction % 10)
                fraction /= 10
            }
            out.append(contentsOf: buffer)
        }
    }

    private static func appendDigits(_ value: UInt64, to out: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for UInt64.max's 20 digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var rest = value
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
    }
}
