#if canImport(Glibc)
internal import Glibc
#endif

/// Wall-clock seconds from the kernel's coarse clock: a few nanoseconds to read (no hardware
/// counter), a few milliseconds of resolution — plenty for cache entries that expire by the
/// second, and read on every hit.
package enum CoarseClock {
    package static func seconds() -> Int64 {
        var now = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_REALTIME_COARSE, &now)
        #else
        clock_gettime(CLOCK_REALTIME, &now)
        #endif
        return Int64(now.tv_sec)
    }
}
