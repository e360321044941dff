import Foundation
@testable import JarvisBilling
import JarvisStore
import Testing

/// Exports are read from PostgreSQL as binary COPY and rendered here: the rendering must be byte
/// for byte what PostgreSQL's own CSV COPY and `row_to_json` write for the same values, hostile
/// text, calendar edges and extreme numbers included.
@Suite struct ExportRendererTests {
    /// Values as SQL expressions (fixed test text: no input reaches it).
    static let texts = [
        "'plain'", "'with,comma'", "'with\"quote'", "'line' || chr(10) || 'break'", "'cr' || chr(13) || 'here'", "''", "NULL",
        "'ünïcødé ✓'", "'back\\slash'", "'tab' || chr(9) || 'here'", "'ctl' || chr(1) || chr(31)", "'\\.'", "' spaced '",
        "chr(8) || chr(12) || chr(127)", "'\"'", "'a\"\"b,'",
    ]
    static let uuids = ["'0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b'", "NULL", "'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'"]
    static let days = [
        "'2000-01-01'", "'1999-12-31'", "'2000-02-29'", "'2024-02-29'", "'1900-03-01'", "'2100-12-31'", "'0001-01-01'",
        "'9999-12-31'", "'1970-01-01'", "'2026-11-30'", "'1600-02-29'", "'2026-03-01'", "NULL", "'2400-02-29'", "'1899-12-31'", "'2001-03-01'",
    ]
    static let integers = ["0", "-1", "9223372036854775807", "'-9223372036854775808'", "42", "NULL", "1000000"]
    static let micros = ["0", "1", "-1", "1500000", "-1500000", "9223372036854775807", "'-9223372036854775808'", "123456789", "NULL", "999999", "-999999"]

    static var values: String {
        (0..<max(texts.count, days.count)).map { row in
            "(\(texts[row % texts.count])::text, \(uuids[row % uuids.count])::uuid, \(days[row % days.count])::date, "
                + "\(integers[row % integers.count])::int8, \(micros[row % micros.count])::int8)"
        }.joined(separator: ", ")
    }

    /// PostgreSQL's rendering of the columns the renderer is given below. The amount is the exact
    /// product (the exports' earlier `round(m::numeric / 1000000, 6)` kept only 16 significant
    /// digits in the division: 9223372036854775807 micro-units became 9223372036854.775800).
    static var textSelect: String {
        """
        SELECT t, u, to_char(d, 'YYYY-MM-DD') AS day, to_char(d, 'YYYY-MM') AS month, i, m::numeric * 0.000001 AS cost,
               'U"S,D' AS currency
        FROM (VALUES \(values)) v(t, u, d, i, m)
        """
    }

    static let binarySQL = "COPY (SELECT t, u, d, d, i, m FROM (VALUES \(values)) v(t, u, d, i, m)) TO STDOUT WITH (FORMAT binary)"

    static let columns: [ExportRenderer.Column] = [
        .init(name: "t", kind: .text, field: 0), .init(name: "u", kind: .uuid, field: 1), .init(name: "day", kind: .day, field: 2),
        .init(name: "month", kind: .month, field: 3), .init(name: "i", kind: .integer, field: 4), .init(name: "cost", kind: .micros, field: 5),
        .init(name: "currency", kind: .constant("U\"S,D"), field: 0),
    ]

    static func copy(_ sql: String) async throws -> [UInt8] {
        var bytes: [UInt8] = []
        try await Fixture.platform.withTransaction { tx in
            try await tx.copyOut(sql, timeout: .seconds(30)) { bytes += $0 }
        }
        return bytes
    }

    static func render(_ stream: [[UInt8]], _ format: ExportRenderer.Format) throws -> [UInt8] {
        let renderer = ExportRenderer(columns: columns, format: format)
        var reader = BinaryCopyReader()
        var out = renderer.header
        for chunk in stream {
            try reader.read(chunk) { row in renderer.render(row, into: &out) }
        }
        #expect(reader.isComplete)
        return out
    }

    @Test func csvIsWhatPostgreSQLWritesByteForByte() async throws {
        let expected = try await Self.copy("COPY (\(Self.textSelect)) TO STDOUT WITH (FORMAT csv, HEADER true)")
        let rendered = try Self.render([try await Self.copy(Self.binarySQL)], .csv)
        #expect(String(decoding: rendered, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        #expect(rendered == expected)
    }

    @Test func jsonLinesAreWhatRowToJSONWritesByteForByte() async throws {
        let expected = try await Self.copy(
            "COPY (SELECT row_to_json(q)::text FROM (\(Self.textSelect)) q) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')")
        let rendered = try Self.render([try await Self.copy(Self.binarySQL)], .jsonl)
        #expect(String(decoding: rendered, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        // Each line is JSON a standard parser reads.
        for line in rendered.split(separator: UInt8(ascii: "\n")) {
            #expect((try? JSONSerialization.jsonObject(with: Data(line))) != nil, "\(String(decoding: line, as: UTF8.self))")
        }
    }

    @Test func aRowCutAcrossChunksIsCarriedOver() async throws {
        let stream = try await Self.copy(Self.binarySQL)
        let whole = try Self.render([stream], .csv)
        for cut in 1..<stream.count {
            #expect(try Self.render([Array(stream[..<cut]), Array(stream[cut...])], .csv) == whole, "cut at \(cut)")
        }
        // Byte by byte, too.
        #expect(try Self.render(stream.map { [$0] }, .csv) == whole)
    }

    @Test func whatIsNotBinaryCOPYIsRefused() async throws {
        var reader = BinaryCopyReader()
        #expect(throws: StoreError.self) { try reader.read(Array("tenant,model\nseed,m\n".utf8)) { _ in } }
        // A stream cut before its end marker is not complete.
        let stream = try await Self.copy(Self.binarySQL)
        var cut = BinaryCopyReader()
        var rows = 0
        try cut.read(Array(stream.dropLast(2))) { _ in rows += 1 }
        #expect(rows == Self.days.count && !cut.isComplete)
        // A field claiming a negative length other than NULL's -1.
        var forged = Array(stream.prefix(19))
        forged += [0, 1, 0xFF, 0xFF, 0xFF, 0xFE]
        var refusing = BinaryCopyReader()
        #expect(throws: StoreError.self) { try refusing.read(forged) { _ in } }
    }
}
