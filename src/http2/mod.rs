//! HTTP/2 (RFC 9113): HPACK, frames, stream states, flow control, the sans-I/O server
//! connection over them (`conn`), and the driver that runs it on the worker pool over a
//! TLS (ALPN `h2`) or cleartext (prior knowledge) connection (`driver`).

pub(crate) mod conn;
pub(crate) mod driver;
pub(crate) mod flow;
pub(crate) mod frame;
pub(crate) mod hpack;
pub(crate) mod stream;

/// What the unit tests of the HTTP/2 layers share.
#[cfg(test)]
pub(crate) mod testing {
    /// A pseudo-random generator (xorshift64*), deterministic so failures reproduce.
    pub(crate) struct Rng(pub(crate) u64);

    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        pub(crate) fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
            (0..len).map(|_| self.next() as u8).collect()
        }
    }
}
