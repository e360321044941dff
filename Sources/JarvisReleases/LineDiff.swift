/// A line diff of two texts: the longest common subsequence of their lines, as kept, removed and
/// added lines. Texts too large for that (over four million line pairs) are diffed around their
/// common start and end, the middle shown as removed and added.
public enum LineDiff {
    public struct Line: Codable, Sendable, Equatable {
        /// `=` kept, `-` only in the old text, `+` only in the new one.
        public let op: String
        public let text: String
    }

    public static func lines(from old: String, to new: String) -> [Line] {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var start = 0
        while start < a.count, start < b.count, a[start] == b[start] { start += 1 }
        var endA = a.count, endB = b.count
        while endA > start, endB > start, a[endA - 1] == b[endB - 1] { endA -= 1; endB -= 1 }
        var out = a[..<start].map { Line(op: "=", text: $0) }
        let midA = Array(a[start..<endA]), midB = Array(b[start..<endB])
        if midA.count * midB.count <= 4_000_000 {
            out += lcs(midA, midB)
        } else {
            out += midA.map { Line(op: "-", text: $0) } + midB.map { Line(op: "+", text: $0) }
        }
        out += a[endA...].map { Line(op: "=", text: $0) }
        return out
    }

    static func lcs(_ a: [String], _ b: [String]) -> [Line] {
        let n = a.count, m = b.count
        if n == 0 { return b.map { Line(op: "+", text: $0) } }
        if m == 0 { return a.map { Line(op: "-", text: $0) } }
        // table[i][j]: LCS length of a[i...] and b[j...], flattened.
        var table = [Int32](repeating: 0, count: (n + 1) * (m + 1))
        for i in stride(from: n - 1, through: 0, by: -1) {
            for j in stride(from: m - 1, through: 0, by: -1) {
                table[i * (m + 1) + j] = a[i] == b[j]
                    ? table[(i + 1) * (m + 1) + j + 1] + 1 : max(table[(i + 1) * (m + 1) + j], table[i * (m + 1) + j + 1])
            }
        }
        var out: [Line] = []
        var i = 0, j = 0
        while i < n, j < m {
            if a[i] == b[j] {
                out.append(Line(op: "=", text: a[i])); i += 1; j += 1
            } else if table[(i + 1) * (m + 1) + j] >= table[i * (m + 1) + j + 1] {
                out.append(Line(op: "-", text: a[i])); i += 1
            } else {
                out.append(Line(op: "+", text: b[j])); j += 1
            }
        }
        out += a[i...].map { Line(op: "-", text: $0) } + b[j...].map { Line(op: "+", text: $0) }
        return out
    }
}
