//! The `Date` header value (RFC 9110 §5.6.7 IMF-fixdate), formatted at most once a second
//! per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

thread_local! {
    /// The second it was made for, and the header line `Date: <IMF-fixdate>\r\n`.
    static CACHE: RefCell<(u64, [u8; 37])> = const { RefCell::new((u64::MAX, [0; 37])) };
}

/// Calls `f` with the current IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
/// (HTTP/2's `date` field; HTTP/1 writes the whole line, [`with_line`].)
#[cfg_attr(not(feature = "http2"), allow(dead_code))]
pub(crate) fn with_now<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    with_line(|line| f(&line[6..35]))
}

/// Calls `f` with the HTTP/1 header line of the current date, e.g.
/// `Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n`.
pub(crate) fn with_line<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            c.1[..6].copy_from_slice(b"Date: ");
            c.1[6..35].copy_from_slice(&format(secs));
            c.1[35..].copy_from_slice(b"\r\n");
            c.0 = secs;
        }
        f(&c.1)
    })
}

/// English month abbreviations, as IMF-fixdate and the NCSA log formats write them.
pub(crate) const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Seconds since the Unix epoch as UTC `[year, month (1-12), day, hour, minute, second]`.
pub(crate) fn civil(secs: u64) -> [u64; 6] {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (H. Hinnant), valid for every date after 1970.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mth = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if mth <= 2 { 1 } else { 0 };
    [
        y as u64,
        mth as u64,
        d as u64,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
    ]
}

/// Formats seconds since the Unix epoch as IMF-fixdate.
pub(crate) fn format(secs: u64) -> [u8; 29] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    let [y, mth, d, h, m, s] = civil(secs);
    let days = secs / 86_400;

    let mut out = [0u8; 29];
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    out[3..5].copy_from_slice(b", ");
    two(&mut out[5..7], d);
    out[7] = b' ';
    out[8..11].copy_from_slice(MONTHS[(mth - 1) as usize]);
    out[11] = b' ';
    two(&mut out[12..14], y / 100 % 100);
    two(&mut out[14..16], y % 100);
    out[16] = b' ';
    two(&mut out[17..19], h);
    out[19] = b':';
    two(&mut out[20..22], m);
    out[22] = b':';
    two(&mut out[23..25], s);
    out[25..29].copy_from_slice(b" GMT");
    out
}

pub(crate) fn two(out: &mut [u8], v: u64) {
    out[0] = b'0' + (v / 10 % 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc_examples() {
        assert_eq!(&format(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&format(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&format(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(&format(1_795_222_861), b"Sat, 21 Nov 2026 01:01:01 GMT");
    }

    #[test]
    fn the_header_line_holds_the_current_date() {
        let before = SystemTime::now();
        let line = with_line(<[u8]>::to_vec);
        let value = with_now(<[u8]>::to_vec);
        let after = SystemTime::now();
        assert_eq!(&line[..6], b"Date: ");
        assert_eq!(&line[35..], b"\r\n");
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs();
        assert!(
            [secs(before), secs(after)]
                .iter()
                .any(|&s| line[6..35] == format(s)),
            "{:?}",
            String::from_utf8_lossy(&line)
        );
        assert!(value == line[6..35] || secs(before) != secs(after));
    }
}
