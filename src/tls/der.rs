//! A minimal DER reader for the key and PKCS#12 containers falconet opens itself
//! (encrypted PKCS#8, PBES2 parameters, PFX files): single-byte tags, definite lengths.

pub(super) const INTEGER: u8 = 0x02;
pub(super) const OCTET_STRING: u8 = 0x04;
pub(super) const NULL: u8 = 0x05;
pub(super) const OID: u8 = 0x06;
pub(super) const SEQUENCE: u8 = 0x30;
#[cfg(feature = "tls-pkcs12")]
pub(super) const SET: u8 = 0x31;
#[cfg(feature = "tls-pkcs12")]
/// `[0]`, constructed (EXPLICIT, or IMPLICIT over a constructed type).
pub(super) const CONTEXT_0: u8 = 0xa0;
#[cfg(feature = "tls-pkcs12")]
/// `[0] IMPLICIT` over a primitive type (an OCTET STRING).
pub(super) const PRIMITIVE_0: u8 = 0x80;

/// Why DER could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Error {
    /// Not DER, or not the structure expected.
    Malformed,
    /// BER's indefinite length, which some old tools write.
    IndefiniteLength,
}

/// Reads DER TLVs from a slice, front to back.
pub(super) struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Reader { input }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    pub(super) fn peek_tag(&self) -> Option<u8> {
        self.input.first().copied()
    }

    /// The next TLV's tag, contents and whole encoding.
    pub(super) fn read_tlv(&mut self) -> Result<(u8, &'a [u8], &'a [u8]), Error> {
        let whole = self.input;
        let (&tag, rest) = whole.split_first().ok_or(Error::Malformed)?;
        if tag & 0x1f == 0x1f {
            return Err(Error::Malformed); // high-tag-number form
        }
        let (&first, mut rest) = rest.split_first().ok_or(Error::Malformed)?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err(Error::IndefiniteLength);
            }
            if count > 4 {
                return Err(Error::Malformed);
            }
            let (bytes, after) = rest.split_at_checked(count).ok_or(Error::Malformed)?;
            rest = after;
            bytes
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b))
        };
        let (value, after) = rest.split_at_checked(len).ok_or(Error::Malformed)?;
        self.input = after;
        Ok((tag, value, &whole[..whole.len() - after.len()]))
    }

    /// The contents of the next TLV, which must have tag `tag`.
    pub(super) fn read(&mut self, tag: u8) -> Result<&'a [u8], Error> {
        match self.read_tlv()? {
            (t, value, _) if t == tag => Ok(value),
            _ => Err(Error::Malformed),
        }
    }

    /// The whole encoding of the next TLV, which must have tag `tag`.
    pub(super) fn read_whole(&mut self, tag: u8) -> Result<&'a [u8], Error> {
        match self.read_tlv()? {
            (t, _, whole) if t == tag => Ok(whole),
            _ => Err(Error::Malformed),
        }
    }

    /// The contents of the next TLV if it has tag `tag`; nothing read otherwise.
    #[cfg(any(test, feature = "tls-pkcs12"))]
    pub(super) fn read_optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, Error> {
        if self.peek_tag() == Some(tag) {
            self.read(tag).map(Some)
        } else {
            Ok(None)
        }
    }

    /// A non-negative INTEGER that fits in a `u64`.
    pub(super) fn read_u64(&mut self) -> Result<u64, Error> {
        let bytes = self.read(INTEGER)?;
        let bytes = match bytes {
            [] => return Err(Error::Malformed),
            [0, rest @ ..] => rest,
            [b, ..] if b & 0x80 != 0 => return Err(Error::Malformed),
            _ => bytes,
        };
        if bytes.len() > 8 {
            return Err(Error::Malformed);
        }
        Ok(bytes.iter().fold(0, |n, &b| (n << 8) | u64::from(b)))
    }

    /// An AlgorithmIdentifier: its OID and its parameters' whole encoding (absent or NULL
    /// parameters give an empty slice).
    pub(super) fn read_algorithm(&mut self) -> Result<(&'a [u8], &'a [u8]), Error> {
        let mut alg = Reader::new(self.read(SEQUENCE)?);
        let oid = alg.read(OID)?;
        let params = alg.input;
        if params.first() == Some(&NULL) {
            alg.read(NULL)?;
            return alg
                .is_empty()
                .then_some((oid, &[][..]))
                .ok_or(Error::Malformed);
        }
        if !params.is_empty() {
            alg.read_tlv()?;
            if !alg.is_empty() {
                return Err(Error::Malformed);
            }
        }
        Ok((oid, params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tlvs_and_refuses_what_is_not_der() {
        let mut r = Reader::new(&[0x30, 0x03, 0x02, 0x01, 0x07, 0x04, 0x00]);
        let (tag, value, whole) = r.read_tlv().unwrap();
        assert_eq!((tag, value, whole.len()), (SEQUENCE, &[2, 1, 7][..], 5));
        assert_eq!(Reader::new(value).read_u64(), Ok(7));
        assert_eq!(r.read_optional(INTEGER), Ok(None));
        assert_eq!(r.read(OCTET_STRING), Ok(&[][..]));
        assert!(r.is_empty());

        assert_eq!(
            Reader::new(&[0x30, 0x80, 0, 0]).read_tlv().unwrap_err(),
            Error::IndefiniteLength
        );
        for bad in [
            &[][..],
            &[0x30],
            &[0x30, 0x05, 0x00],
            &[0x1f, 0x01, 0x00],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
        ] {
            assert_eq!(
                Reader::new(bad).read_tlv().unwrap_err(),
                Error::Malformed,
                "{bad:?}"
            );
        }
        assert_eq!(
            Reader::new(&[0x02, 0x01, 0x80]).read_u64(),
            Err(Error::Malformed)
        );
        assert_eq!(Reader::new(&[0x02, 0x02, 0x00, 0x80]).read_u64(), Ok(128));
    }
}
