//! Calendar months on Unix seconds (UTC): an order of 12 months bought on 31 January ends on
//! 31 January a year later, one of one month on 28 (or 29) February.

use time::{Date, OffsetDateTime};

/// `ts` plus `months` calendar months, the day clamped to the target month's length. Out of
/// range (past year 9999) it saturates.
pub fn add_months(ts: i64, months: i64) -> i64 {
    let Ok(at) = OffsetDateTime::from_unix_timestamp(ts) else {
        return ts;
    };
    let total = i64::from(at.year()) * 12 + i64::from(u8::from(at.month())) - 1 + months;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12));
    let Ok(year) = i32::try_from(year) else {
        return i64::MAX / 2;
    };
    let Ok(month) = time::Month::try_from(month0 as u8 + 1) else {
        return ts;
    };
    let day = at.day().min(month.length(year));
    match Date::from_calendar_date(year, month, day) {
        Ok(date) => at.replace_date(date).unix_timestamp(),
        Err(_) => i64::MAX / 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn months_follow_the_calendar() {
        let jan31 = datetime!(2026-01-31 10:00 UTC).unix_timestamp();
        assert_eq!(
            add_months(jan31, 1),
            datetime!(2026-02-28 10:00 UTC).unix_timestamp()
        );
        assert_eq!(
            add_months(jan31, 12),
            datetime!(2027-01-31 10:00 UTC).unix_timestamp()
        );
        assert_eq!(
            add_months(datetime!(2027-12-15 0:00 UTC).unix_timestamp(), 1),
            datetime!(2028-01-15 0:00 UTC).unix_timestamp()
        );
        assert_eq!(add_months(jan31, 0), jan31);
        // Saturates instead of overflowing.
        assert!(add_months(jan31, 120_000_000) > jan31);
    }
}
