extension Array where Element: Comparable {
    /// Whether a sorted array holds `value`, by binary search.
    @inlinable
    package func sortedContains(_ value: Element) -> Bool {
        var lower = 0
        var upper = count
        while lower < upper {
            let middle = (lower + upper) / 2
            if self[middle] < value { lower = middle + 1 } else { upper = middle }
        }
        return lower < count && self[lower] == value
    }
}
