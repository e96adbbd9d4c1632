//! A region of a file sent as a response body: by sendfile(2) on plain sockets, read and
//! copied elsewhere.

use std::io::{self, Read};

/// The part of a file a [`Body::from_file`](crate::Body::from_file) still has to send.
#[derive(Debug)]
pub(crate) struct FileRegion {
    pub(crate) file: std::fs::File,
    /// Where the next byte to send lies in the file.
    pub(crate) offset: u64,
    /// How many bytes are still to be sent.
    pub(crate) remaining: u64,
}

impl FileRegion {
    /// Records `n` bytes as sent (by sendfile or a read).
    pub(crate) fn advance(&mut self, n: u64) {
        self.offset += n;
        self.remaining = self.remaining.saturating_sub(n);
    }
}

impl Read for FileRegion {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let want = (buf.len() as u64).min(self.remaining) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.offset)?;
        self.advance(n as u64);
        Ok(n)
    }
}
