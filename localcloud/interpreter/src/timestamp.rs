//! Timestamps as the States Language writes them: RFC 3339 with an uppercase `T` and either an
//! uppercase `Z` or a numeric offset (`2016-03-14T01:59:00Z`). Used by Wait, the Timestamp
//! comparisons and IsTimestamp; the context object's times are written the way AWS writes them.

use std::time::SystemTime;

use jiff::Timestamp;

/// Parses a States Language timestamp; `None` for anything else (lowercase `t`/`z`, no offset).
pub fn parse(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.get(10) != Some(&b'T') || text.ends_with('z') {
        return None;
    }
    text.parse::<Timestamp>().ok()
}

/// An instant as AWS writes it in the context object: UTC, milliseconds, `Z`.
pub fn format(time: SystemTime) -> String {
    match Timestamp::try_from(time) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => String::from("1970-01-01T00:00:00.000Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn accepts_the_rfc3339_profile_only() {
        assert!(parse("2016-03-14T01:59:00Z").is_some());
        assert!(parse("2016-03-14T01:59:00.123Z").is_some());
        assert!(parse("2016-03-14T01:59:00+02:00").is_some());
        for bad in [
            "2016-03-14t01:59:00Z",
            "2016-03-14T01:59:00z",
            "2016-03-14T01:59:00",
            "2016-03-14",
            "yesterday",
            "",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert_eq!(
            parse("2016-03-14T03:59:00+02:00"),
            parse("2016-03-14T01:59:00Z")
        );
    }

    #[test]
    fn formats_with_milliseconds_in_utc() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_millis(1_553_631_253_192);
        assert_eq!(format(time), "2019-03-26T20:14:13.192Z");
    }
}
