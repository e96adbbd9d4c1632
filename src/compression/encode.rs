//! The encoders (gzip from flate2 with miniz_oxide, brotli from the `brotli` crate) and
//! the adapters that compress a body as it is sent: a `Read` for reader and file bodies,
//! a `Write` for writer bodies.

use std::io::{self, Read, Write};

use super::negotiate::Coding;
use super::CompressionLevel;

/// Source bytes read per step of a streamed body.
const READ_STEP: usize = 16 * 1024;

/// One compression stream writing into a vector that the caller drains.
pub(crate) enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Br(Box<brotli::CompressorWriter<Vec<u8>>>),
}

impl Encoder {
    pub(crate) fn new(coding: Coding, level: CompressionLevel) -> Encoder {
        match coding {
            Coding::Gzip => {
                let level = match level {
                    CompressionLevel::Fastest => 1,
                    CompressionLevel::Optimal => 6,
                    CompressionLevel::SmallestSize => 9,
                };
                Encoder::Gzip(flate2::write::GzEncoder::new(
                    Vec::new(),
                    flate2::Compression::new(level),
                ))
            }
            Coding::Br => {
                // (quality, log2 of the window): small windows keep each stream's memory
                // bounded on a small board.
                let (quality, lgwin) = match level {
                    CompressionLevel::Fastest => (1, 18),
                    CompressionLevel::Optimal => (4, 20),
                    CompressionLevel::SmallestSize => (9, 22),
                };
                Encoder::Br(Box::new(brotli::CompressorWriter::new(
                    Vec::new(),
                    4096,
                    quality,
                    lgwin,
                )))
            }
        }
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.write_all(data),
            Encoder::Br(e) => e.write_all(data),
        }
    }

    /// Makes everything written so far decodable (a sync flush): the stream stays open.
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Gzip(e) => e.flush(),
            Encoder::Br(e) => e.flush(),
        }
    }

    /// The compressed bytes produced so far and not yet taken.
    fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Encoder::Gzip(e) => e.get_mut(),
            Encoder::Br(e) => e.get_mut(),
        }
    }

    /// Ends the stream; returns the rest of the output.
    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Br(e) => Ok(e.into_inner()),
        }
    }
}

/// Compresses a whole buffer.
pub(crate) fn compress(
    data: &[u8],
    coding: Coding,
    level: CompressionLevel,
) -> io::Result<Vec<u8>> {
    let mut e = Encoder::new(coding, level);
    e.write(data)?;
    let mut out = std::mem::take(e.output());
    out.extend_from_slice(&e.finish()?);
    Ok(out)
}

/// A reader body compressed as the server pulls it: each pull reads at most 16 KiB from
/// the source and returns what the encoder has produced. A source read that returns
/// less than asked (a pipe, a channel: the source has nothing more for now) is followed
/// by a sync flush, so a slow producer's bytes reach the client as they are produced, as
/// an ASP.NET application's `Flush` does; a source that fills every read gets whole
/// compression blocks.
pub(crate) struct CompressReader<R> {
    source: R,
    encoder: Option<Encoder>,
    out: Vec<u8>,
    pos: usize,
    step: Box<[u8]>,
}

impl<R: Read> CompressReader<R> {
    pub(crate) fn new(source: R, coding: Coding, level: CompressionLevel) -> Self {
        CompressReader {
            source,
            encoder: Some(Encoder::new(coding, level)),
            out: Vec::new(),
            pos: 0,
            step: vec![0; READ_STEP].into_boxed_slice(),
        }
    }
}

impl<R: Read> Read for CompressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.pos);
                buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            self.out.clear();
            self.pos = 0;
            let Some(encoder) = self.encoder.as_mut() else {
                return Ok(0);
            };
            let n = loop {
                match self.source.read(&mut self.step) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    r => break r?,
                }
            };
            if n == 0 {
                if let Some(e) = self.encoder.take() {
                    self.out = e.finish()?;
                }
                continue;
            }
            encoder.write(&self.step[..n])?;
            if n < self.step.len() {
                encoder.flush()?;
            }
            // The encoder's vector becomes ours and ours (empty) the encoder's: no copy.
            std::mem::swap(&mut self.out, encoder.output());
        }
    }
}

/// A writer body's connection writer, compressing: the handler's `flush` is a sync flush
/// of the stream (and of the connection), as in ASP.NET.
pub(crate) struct CompressWriter<'a> {
    inner: &'a mut dyn Write,
    encoder: Option<Encoder>,
}

impl<'a> CompressWriter<'a> {
    pub(crate) fn new(inner: &'a mut dyn Write, coding: Coding, level: CompressionLevel) -> Self {
        CompressWriter {
            inner,
            encoder: Some(Encoder::new(coding, level)),
        }
    }

    fn drain(&mut self) -> io::Result<()> {
        if let Some(e) = self.encoder.as_mut() {
            let out = e.output();
            if !out.is_empty() {
                self.inner.write_all(out)?;
                out.clear();
            }
        }
        Ok(())
    }

    /// Ends the compressed stream and writes its last bytes.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.drain()?;
        if let Some(e) = self.encoder.take() {
            let rest = e.finish()?;
            self.inner.write_all(&rest)?;
        }
        Ok(())
    }
}

impl Write for CompressWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.encoder.as_mut() {
            Some(e) => e.write(buf)?,
            None => return Err(io::Error::other("the compressed stream has ended")),
        }
        self.drain()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.encoder.as_mut() {
            e.flush()?;
        }
        self.drain()?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn unbrotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        brotli::Decompressor::new(data, 4096)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn decode(coding: Coding, data: &[u8]) -> Vec<u8> {
        match coding {
            Coding::Gzip => gunzip(data),
            Coding::Br => unbrotli(data),
        }
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("line {i} of the sample text\n").into_bytes())
            .collect()
    }

    const LEVELS: [CompressionLevel; 3] = [
        CompressionLevel::Fastest,
        CompressionLevel::Optimal,
        CompressionLevel::SmallestSize,
    ];

    #[test]
    fn whole_buffers_round_trip_at_every_level() {
        let data = sample(2000);
        for coding in [Coding::Gzip, Coding::Br] {
            for level in LEVELS {
                let c = compress(&data, coding, level).unwrap();
                assert!(
                    c.len() < data.len() / 3,
                    "{coding:?} {level:?}: {}",
                    c.len()
                );
                assert_eq!(decode(coding, &c), data);
            }
        }
    }

    /// A source that returns at most `max` bytes per read.
    struct Dribble(std::io::Cursor<Vec<u8>>, usize);

    impl Read for Dribble {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.1);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn readers_stream_and_round_trip() {
        let data = sample(50_000);
        for coding in [Coding::Gzip, Coding::Br] {
            for max in [usize::MAX, 1000] {
                let mut r = CompressReader::new(
                    Dribble(std::io::Cursor::new(data.clone()), max),
                    coding,
                    CompressionLevel::Fastest,
                );
                let mut out = Vec::new();
                let mut buf = [0u8; 5000];
                loop {
                    let n = r.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    out.extend_from_slice(&buf[..n]);
                }
                assert_eq!(decode(coding, &out), data, "{coding:?} {max}");
            }
        }
    }

    #[test]
    fn a_short_source_read_is_flushed_at_once() {
        // The first pull of a source that has 100 bytes for now gives decodable output.
        for coding in [Coding::Gzip, Coding::Br] {
            let mut r = CompressReader::new(
                Dribble(std::io::Cursor::new(sample(1000)), 100),
                coding,
                CompressionLevel::Fastest,
            );
            let mut buf = vec![0u8; 64 * 1024];
            let n = r.read(&mut buf).unwrap();
            assert!(n > 0);
            let mut got = vec![0u8; 100];
            let partial = &buf[..n];
            match coding {
                Coding::Gzip => flate2::read::GzDecoder::new(partial)
                    .read_exact(&mut got)
                    .unwrap(),
                Coding::Br => brotli::Decompressor::new(partial, 4096)
                    .read_exact(&mut got)
                    .unwrap(),
            }
            assert_eq!(got, sample(1000)[..100]);
        }
    }

    #[test]
    fn writers_compress_and_flush() {
        for coding in [Coding::Gzip, Coding::Br] {
            let mut sink = Vec::new();
            let mut w = CompressWriter::new(&mut sink, coding, CompressionLevel::Optimal);
            w.write_all(b"hello ").unwrap();
            w.flush().unwrap();
            w.write_all(&sample(100)).unwrap();
            w.finish().unwrap();
            let mut want = b"hello ".to_vec();
            want.extend_from_slice(&sample(100));
            assert_eq!(decode(coding, &sink), want);
        }
    }
}
