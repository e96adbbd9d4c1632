//! Numbers in lowercase hexadecimal, written on the stack: HTTP/1 chunk sizes and the
//! entity tags of static files (no formatting machinery per request).

/// `n` in lowercase hexadecimal without leading zeros (`0` for zero): the digits are
/// `buf[..len]` of the returned `(buf, len)`.
pub(crate) fn lower_hex(n: u64) -> ([u8; 16], usize) {
    let mut buf = [0u8; 16];
    let len = (u64::BITS - n.leading_zeros()).div_ceil(4).max(1) as usize;
    for (i, b) in buf.iter_mut().take(len).enumerate() {
        *b = b"0123456789abcdef"[((n >> (4 * (len - 1 - i))) & 0xf) as usize];
    }
    (buf, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_hex_is_format_x() {
        for n in [
            0,
            1,
            9,
            0xf,
            0x10,
            0xabc,
            16384,
            0x6553_f100,
            u64::MAX >> 4,
            u64::MAX,
        ] {
            let (buf, len) = lower_hex(n);
            assert_eq!(&buf[..len], format!("{n:x}").as_bytes(), "{n}");
        }
    }
}
