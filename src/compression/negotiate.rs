//! Content negotiation for response compression: which coding the client's
//! `Accept-Encoding` picks (RFC 9110 §12.5.3), and whether a `Content-Type` is
//! compressible (ASP.NET Core's `MimeTypes` / `ExcludedMimeTypes` matching).

/// A content coding falconet can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// Brotli (RFC 7932), `br`.
    Br,
    /// gzip (RFC 1952), `gzip`.
    Gzip,
}

#[cfg_attr(not(feature = "compression"), allow(dead_code))]
impl Coding {
    /// The `Content-Encoding` token.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Coding::Br => "br",
            Coding::Gzip => "gzip",
        }
    }
}

/// What the client's `Accept-Encoding` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Negotiated {
    /// The coding to use, if any is acceptable and preferred over identity.
    pub(crate) coding: Option<Coding>,
    /// The client refused identity (`identity;q=0`, or `*;q=0` without an entry for
    /// `identity`): a body is then compressed even below the minimum size.
    pub(crate) identity_refused: bool,
}

impl Negotiated {
    /// Nothing to compress with: identity.
    pub(crate) const IDENTITY: Negotiated = Negotiated {
        coding: None,
        identity_refused: false,
    };
}

/// Picks a coding from every `Accept-Encoding` field value (`values`; none at all means
/// the header is absent, which asks for no coding here, as in ASP.NET Core).
///
/// The highest `q` wins; `q=0` excludes; `*` stands for every coding not listed by name;
/// `x-gzip` is `gzip` (RFC 9110 §8.4.1.3); unknown codings and items with a malformed
/// `q` are ignored; the first entry for a coding counts. At equal `q`, `br` beats `gzip`
/// (ASP.NET's default provider order) and a coding beats an explicit `identity`; an
/// `identity` with a higher `q` than every coding means no compression.
pub(crate) fn negotiate<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Negotiated {
    let mut br = None;
    let mut gzip = None;
    let mut identity = None;
    let mut star = None;
    for value in values {
        for item in value.split(|&b| b == b',') {
            let mut parts = item.split(|&b| b == b';');
            let coding = trim(parts.next().unwrap_or(b""));
            if coding.is_empty() {
                continue;
            }
            let mut q = Some(1000);
            for param in parts {
                let param = trim(param);
                if param.len() >= 2 && param[0].eq_ignore_ascii_case(&b'q') {
                    let rest = trim(&param[1..]);
                    if let Some(v) = rest.strip_prefix(b"=") {
                        q = parse_q(trim(v));
                    }
                }
            }
            let Some(q) = q else { continue };
            let slot = if coding.eq_ignore_ascii_case(b"br") {
                &mut br
            } else if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip")
            {
                &mut gzip
            } else if coding.eq_ignore_ascii_case(b"identity") {
                &mut identity
            } else if coding == b"*" {
                &mut star
            } else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(q);
            }
        }
    }
    let br = br.or(star).unwrap_or(0);
    let gzip = gzip.or(star).unwrap_or(0);
    let identity_refused = identity.or(star) == Some(0);
    let (coding, q) = if gzip > br {
        (Coding::Gzip, gzip)
    } else {
        (Coding::Br, br)
    };
    let coding = (q > 0 && identity.is_none_or(|i| q >= i)).then_some(coding);
    Negotiated {
        coding,
        identity_refused,
    }
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// A `qvalue` (RFC 9110 §12.4.2: `0[.ddd]` or `1[.000]`) in thousandths; `None` when
/// malformed.
fn parse_q(v: &[u8]) -> Option<u16> {
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &v[..0]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: u16 = 0;
    for (i, b) in frac.iter().enumerate() {
        thousandths += u16::from(b - b'0') * [100, 10, 1][i];
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The media type of a `Content-Type` value without its parameters, trimmed
/// (`text/html; charset=utf-8` → `text/html`); compared case-insensitively by the caller.
pub(crate) fn media_type(content_type: &[u8]) -> &[u8] {
    let end = content_type
        .iter()
        .position(|&b| b == b';')
        .unwrap_or(content_type.len());
    trim(&content_type[..end])
}

/// Whether `media_type` (no parameters) is compressible, as ASP.NET Core decides: an
/// exact entry first (excluded beats included), then the `type/*` wildcard entry the same
/// way; anything else is not. The lists hold lowercase media types.
pub(crate) fn compressible(media_type: &[u8], included: &[String], excluded: &[String]) -> bool {
    let find =
        |list: &[String], t: &[u8]| list.iter().any(|m| m.as_bytes().eq_ignore_ascii_case(t));
    let decide = |t: &[u8]| {
        if find(excluded, t) {
            Some(false)
        } else if find(included, t) {
            Some(true)
        } else {
            None
        }
    };
    if media_type.is_empty() {
        return false;
    }
    if let Some(d) = decide(media_type) {
        return d;
    }
    let Some(slash) = media_type.iter().position(|&b| b == b'/') else {
        return false;
    };
    let mut wildcard = [0u8; 128];
    let prefix = &media_type[..=slash];
    if prefix.len() + 1 > wildcard.len() {
        return false;
    }
    wildcard[..prefix.len()].copy_from_slice(prefix);
    wildcard[prefix.len()] = b'*';
    decide(&wildcard[..prefix.len() + 1]).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(values: &[&[u8]]) -> Option<Coding> {
        negotiate(values.iter().copied()).coding
    }

    #[test]
    fn br_is_preferred_at_equal_weight_and_q_decides_otherwise() {
        assert_eq!(pick(&[b"gzip, deflate, br"]), Some(Coding::Br));
        assert_eq!(pick(&[b"br, gzip"]), Some(Coding::Br));
        assert_eq!(pick(&[b"gzip;q=1.0, br;q=0.8"]), Some(Coding::Gzip));
        assert_eq!(pick(&[b"br;q=0.5, gzip;q=0.9"]), Some(Coding::Gzip));
        assert_eq!(pick(&[b"br;q=0.9, gzip;q=0.5"]), Some(Coding::Br));
        assert_eq!(pick(&[b"gzip"]), Some(Coding::Gzip));
        assert_eq!(pick(&[b"x-gzip"]), Some(Coding::Gzip));
        assert_eq!(pick(&[b"BR"]), Some(Coding::Br));
        // Several fields are one list.
        assert_eq!(pick(&[b"deflate", b"gzip"]), Some(Coding::Gzip));
        // Whitespace around the parameter, uppercase Q.
        assert_eq!(pick(&[b"br ; Q = 0.2 ,gzip\t;q=0.3"]), Some(Coding::Gzip));
    }

    #[test]
    fn q_zero_excludes() {
        assert_eq!(pick(&[b"br;q=0, gzip"]), Some(Coding::Gzip));
        assert_eq!(pick(&[b"br;q=0.000, gzip;q=0"]), None);
        assert_eq!(pick(&[b"gzip;q=0"]), None);
        // The first entry for a coding counts.
        assert_eq!(pick(&[b"gzip;q=0, gzip"]), None);
    }

    #[test]
    fn star_matches_the_codings_not_named() {
        assert_eq!(pick(&[b"*"]), Some(Coding::Br));
        assert_eq!(pick(&[b"br;q=0, *"]), Some(Coding::Gzip));
        assert_eq!(pick(&[b"*;q=0.1, gzip;q=0.5"]), Some(Coding::Gzip));
        assert_eq!(pick(&[b"*;q=0"]), None);
    }

    #[test]
    fn none_without_the_header_with_an_empty_one_and_for_unknown_codings() {
        assert_eq!(pick(&[]), None);
        assert_eq!(pick(&[b""]), None);
        assert_eq!(pick(&[b" , ,"]), None);
        assert_eq!(pick(&[b"deflate, zstd, compress"]), None);
        assert_eq!(pick(&[b"identity"]), None);
    }

    #[test]
    fn malformed_weights_are_ignored() {
        for bad in [
            &b"br;q=2, gzip;q=0.1"[..],
            b"br;q=1.5, gzip;q=0.1",
            b"br;q=0.1234, gzip;q=0.1",
            b"br;q=, gzip;q=0.1",
            b"br;q=x, gzip;q=0.1",
            b"br;q=-1, gzip;q=0.1",
        ] {
            assert_eq!(
                pick(&[bad]),
                Some(Coding::Gzip),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(pick(&[b"br;level=9"]), Some(Coding::Br), "other parameters");
        assert_eq!(pick(&[b"gzip;q=1.000"]), Some(Coding::Gzip));
        // Not UTF-8: the bytes that matter still parse.
        assert_eq!(pick(&[b"\xff\xfe, gzip"]), Some(Coding::Gzip));
    }

    #[test]
    fn identity_competes_and_can_be_refused() {
        assert_eq!(pick(&[b"gzip;q=0.5, identity"]), None, "identity preferred");
        assert_eq!(
            pick(&[b"gzip, identity"]),
            Some(Coding::Gzip),
            "tie: the coding"
        );
        assert_eq!(pick(&[b"identity;q=0.1, br;q=0.2"]), Some(Coding::Br));
        let n = negotiate([&b"gzip, identity;q=0"[..]]);
        assert_eq!(n.coding, Some(Coding::Gzip));
        assert!(n.identity_refused);
        assert!(negotiate([&b"br, *;q=0"[..]]).identity_refused);
        assert!(!negotiate([&b"br, identity, *;q=0"[..]]).identity_refused);
        assert!(!negotiate([&b"br"[..]]).identity_refused);
        assert_eq!(negotiate(std::iter::empty()), Negotiated::IDENTITY);
    }

    #[test]
    fn media_types_without_parameters() {
        assert_eq!(media_type(b"text/html; charset=utf-8"), b"text/html");
        assert_eq!(media_type(b"  application/json  "), b"application/json");
        assert_eq!(media_type(b";x"), b"");
    }

    #[test]
    fn compressible_types_as_aspnet_matches_them() {
        let inc = vec![
            "text/plain".to_string(),
            "image/*".to_string(),
            "text/*".into(),
        ];
        let exc = vec![
            "image/png".to_string(),
            "text/csv".to_string(),
            "text/*".into(),
        ];
        assert!(
            compressible(b"text/plain", &inc, &exc),
            "exact include beats wildcard exclude"
        );
        assert!(compressible(b"TEXT/Plain", &inc, &exc));
        assert!(!compressible(b"text/csv", &inc, &exc));
        assert!(
            !compressible(b"text/html", &inc, &exc),
            "wildcard: excluded beats included"
        );
        assert!(compressible(b"image/svg+xml", &inc, &exc));
        assert!(!compressible(b"image/png", &inc, &exc));
        assert!(!compressible(b"application/json", &inc, &exc));
        assert!(!compressible(b"", &inc, &exc));
        assert!(!compressible(b"nonsense", &inc, &exc));
    }
}
