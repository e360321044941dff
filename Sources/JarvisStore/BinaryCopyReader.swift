/// Rows of `COPY … TO STDOUT (FORMAT binary)`, read in place from the chunks `copyOut` hands over.
/// The binary form spares PostgreSQL every value's text conversion (`to_char`, `numeric` output),
/// which is most of what a wide export costs it; the reader of the rows renders them instead.
///
/// The stream: an 11-byte signature, flags and a header extension, then per row a 16-bit field
/// count and per field a 32-bit length (-1 for NULL) and that many bytes, all big-endian; a count
/// of -1 ends it. Chunks hold whole rows as `copyOut` gives them, but a row cut across two chunks
/// is carried over all the same.
public struct BinaryCopyReader {
    private static let signature: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]

    private var headerRead = false
    private var ended = false
    private var carried: [UInt8] = []
    /// Each field of the current row as (offset, length) into the chunk, length -1 for NULL.
    private var fields: [(Int, Int)] = []

    public init() {}

    /// True once the end-of-data marker has been read.
    public var isComplete: Bool { ended }

    /// Calls `row` with each whole row of `chunk` (and of what an earlier chunk left unfinished).
    /// - Throws: `StoreError.decoding` for a stream that is not binary COPY, or what `row` throws.
    public mutating func read(_ chunk: [UInt8], _ row: (BinaryCopyRow) throws -> Void) throws {
        if carried.isEmpty {
            let used = try walk(chunk, row)
            if used < chunk.count { carried = Array(chunk[used...]) }
        } else {
            carried.append(contentsOf: chunk)
            let joined = carried
            let used = try walk(joined, row)
            carried = used < joined.count ? Array(joined[used...]) : []
        }
    }

    /// Reads the rows of `bytes`; returns how many bytes whole rows (and the header) took.
    private mutating func walk(_ bytes: [UInt8], _ row: (BinaryCopyRow) throws -> Void) throws -> Int {
        var fields = self.fields
        self.fields = []
        defer { self.fields = fields }
        return try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> Int in
            var position = 0
            if !headerRead {
                guard raw.count >= 19 else { return 0 }
                guard Self.signature.indices.allSatisfy({ raw[$0] == Self.signature[$0] }) else {
                    throw StoreError.decoding("not a binary COPY stream")
                }
                let extensionLength = Int(Self.int32(raw, at: 15))
                guard extensionLength >= 0 else { throw StoreError.decoding("binary COPY header extension of negative length") }
                guard raw.count >= 19 + extensionLength else { return 0 }
                position = 19 + extensionLength
                headerRead = true
            }
            while position + 2 <= raw.count {
                guard !ended else { throw StoreError.decoding("binary COPY data after its end marker") }
                let count = Int(Int16(bitPattern: UInt16(raw[position]) << 8 | UInt16(raw[position + 1])))
                if count == -1 {
                    ended = true
                    position += 2
                    continue
                }
                guard count >= 0 else { throw StoreError.decoding("binary COPY row of \(count) fields") }
                // Find the row's end first: a cut row waits for the next chunk.
                fields.removeAll(keepingCapacity: true)
                var cursor = position + 2
                var whole = true
                for _ in 0..<count {
                    guard cursor + 4 <= raw.count else {
                        whole = false
                        break
                    }
                    let length = Int(Self.int32(raw, at: cursor))
                    cursor += 4
                    guard length >= -1 else { throw StoreError.decoding("binary COPY field of length \(length)") }
                    if length == -1 {
                        fields.append((cursor, -1))
                        continue
                    }
                    guard cursor + length <= raw.count else {
                        whole = false
                        break
                    }
                    fields.append((cursor, length))
                    cursor += length
                }
                guard whole else { break }
                try fields.withUnsafeBufferPointer { offsets in try row(BinaryCopyRow(bytes: raw, fields: offsets)) }
                position = cursor
            }
            return position
        }
    }

    @inline(__always)
    static func int32(_ raw: UnsafeRawBufferPointer, at offset: Int) -> Int32 {
        Int32(bigEndian: raw.loadUnaligned(fromByteOffset: offset, as: Int32.self))
    }
}

/// One row of a binary COPY, valid only inside the reader's callback.
public struct BinaryCopyRow {
    let bytes: UnsafeRawBufferPointer
    let fields: UnsafeBufferPointer<(Int, Int)>

    /// The number of fields in the row.
    public var count: Int { fields.count }

    /// Field `index`'s bytes, or nil when it is NULL (or past the row's end).
    @inline(__always)
    public func field(_ index: Int) -> UnsafeRawBufferPointer? {
        guard index < fields.count else { return nil }
        let (offset, length) = fields[index]
        guard length >= 0 else { return nil }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + length)])
    }

    /// An `int8` (or `int4`, `int2`, `date`) field as a number, nil when NULL or of another width.
    @inline(__always)
    public func integer(_ index: Int) -> Int64? {
        guard let field = field(index) else { return nil }
        switch field.count {
        case 8: return Int64(bigEndian: field.loadUnaligned(as: Int64.self))
        case 4: return Int64(Int32(bigEndian: field.loadUnaligned(as: Int32.self)))
        case 2: return Int64(Int16(bigEndian: field.loadUnaligned(as: Int16.self)))
        default: return nil
        }
    }
}
