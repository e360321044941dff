/// Day and month windows in UTC, as integers, without Foundation's calendar on the hot path.
/// Days count from 1970-01-01; months are `year * 12 + month - 1`.
public enum UTCCalendar {
    public static func day(unixSeconds: Int64) -> Int64 {
        unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
    }

    /// The civil date of a day number (Howard Hinnant's algorithm).
    public static func civil(day: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = day + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// The day number of a civil date.
    public static func day(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public static func month(day: Int64) -> Int64 {
        let date = civil(day: day)
        return date.year * 12 + date.month - 1
    }

    /// The first day of a month number.
    public static func firstDay(month: Int64) -> Int64 {
        day(year: month / 12, month: month % 12 + 1, day: 1)
    }
}
