//! Stored result parts (issue 22): a job's full answer when it is larger
//! than its result's inline caps (today: the distance field of a lattice of
//! more than 100,000 vertices), kept once beside the job and downloaded at
//! `GET /v1/jobs/{id}/result/{part}`.
//!
//! A part is a `.npy` file (NumPy's own format, version 1.0: `numpy.load`
//! opens it as it is): a short header naming the element type and the
//! shape, then the elements, little-endian. Fields are stored with
//! `fortran_order: True` and the lattice's sizes as the shape, axis 0 first,
//! so `a[x0, x1, …]` is the value at coordinate `(x0, x1, …)` (the engine's
//! vertex order has axis 0 varying fastest).
//!
//! It is stored compressed with zstd in chunks of [`CHUNK`] bytes of the
//! file, each chunk its own zstd frame: a download decompresses chunk by
//! chunk, and a range request only the chunks it covers. The file's
//! SHA-256 is its ETag. Pure code: no I/O (the rows are `db::result_parts`').

use sha2::{Digest, Sha256};

/// Bytes of the file per stored chunk (the last may be shorter).
pub const CHUNK: usize = 4 << 20;

/// zstd's level: its default, ~300 MB/s a core on fields that compress
/// 3–10×; a job's compute dominates.
const LEVEL: i32 = 3;

/// The media type a part is served with.
pub const NPY_MEDIA_TYPE: &str = "application/x-npy";

/// A part, compressed and ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// Its name in the URL (`field`).
    pub name: String,
    /// NumPy's type string (`<i4`) and the shape, for the result's listing.
    pub dtype: String,
    pub shape: Vec<u64>,
    /// Bytes of the whole file, uncompressed.
    pub length: u64,
    /// SHA-256 of the whole file.
    pub sha256: [u8; 32],
    /// One zstd frame per `CHUNK` bytes of the file.
    pub frames: Vec<Vec<u8>>,
}

impl Packed {
    /// What it takes in storage: the compressed frames.
    pub fn stored_bytes(&self) -> u64 {
        self.frames.iter().map(|f| f.len() as u64).sum()
    }
}

/// Builds a part as it is written: the file's bytes go in through
/// `write`, in any pieces, and leave as compressed frames.
pub struct Packer {
    packed: Packed,
    hasher: Sha256,
    window: Vec<u8>,
}

impl Packer {
    /// A `.npy` file of `dtype` elements and `shape`, its header written.
    pub fn npy(name: &str, dtype: &str, shape: &[u64], fortran_order: bool) -> Self {
        let mut packer = Packer {
            packed: Packed {
                name: name.to_owned(),
                dtype: dtype.to_owned(),
                shape: shape.to_vec(),
                length: 0,
                sha256: [0; 32],
                frames: Vec::new(),
            },
            hasher: Sha256::new(),
            window: Vec::with_capacity(CHUNK),
        };
        // Infallible until a frame is full, and the header is far shorter.
        let header = npy_header(dtype, shape, fortran_order);
        packer.window.extend_from_slice(&header);
        packer.hasher.update(&header);
        packer.packed.length = header.len() as u64;
        packer
    }

    /// Appends bytes of the file.
    pub fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.packed.length += bytes.len() as u64;
        while !bytes.is_empty() {
            let room = CHUNK - self.window.len();
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.window.extend_from_slice(now);
            bytes = later;
            if self.window.len() == CHUNK {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Appends 32-bit integers, little-endian.
    pub fn write_i32s(&mut self, values: impl IntoIterator<Item = i32>) -> std::io::Result<()> {
        let mut buffer = Vec::with_capacity(1 << 16);
        for value in values {
            buffer.extend_from_slice(&value.to_le_bytes());
            if buffer.len() == buffer.capacity() {
                self.write(&buffer)?;
                buffer.clear();
            }
        }
        self.write(&buffer)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.window.is_empty() {
            self.packed
                .frames
                .push(zstd::bulk::compress(&self.window, LEVEL)?);
            self.window.clear();
        }
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<Packed> {
        self.flush()?;
        self.packed.sha256 = self.hasher.finalize().into();
        Ok(self.packed)
    }
}

/// Decompresses chunk `seq` of a part of `length` bytes (its size is known
/// from its place, so a frame that says otherwise is an error).
pub fn unpack(frame: &[u8], seq: u64, length: u64) -> std::io::Result<Vec<u8>> {
    let expected = chunk_len(seq, length);
    let bytes = zstd::bulk::decompress(frame, expected)?;
    if bytes.len() != expected {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("chunk {seq} holds {} bytes, not {expected}", bytes.len()),
        ));
    }
    Ok(bytes)
}

/// A `.npy` file split into its header's dict (`{'descr': …}`) and its
/// data; None for bytes that are not a format 1.0 `.npy` file.
pub fn npy_parts(file: &[u8]) -> Option<(&str, &[u8])> {
    if !file.starts_with(b"\x93NUMPY\x01\x00") {
        return None;
    }
    let dict_len = usize::from(u16::from_le_bytes([*file.get(8)?, *file.get(9)?]));
    let dict = std::str::from_utf8(file.get(10..10 + dict_len)?).ok()?;
    Some((dict, file.get(10 + dict_len..)?))
}

/// Bytes of the file in chunk `seq` of a part of `length` bytes.
pub fn chunk_len(seq: u64, length: u64) -> usize {
    let start = seq.saturating_mul(CHUNK as u64);
    length.saturating_sub(start).min(CHUNK as u64) as usize
}

/// NumPy's `.npy` header, format 1.0: magic, version, the header length
/// (u16, little-endian), then a Python dict literal padded with spaces and a
/// newline so the data starts at a multiple of 64 bytes.
fn npy_header(dtype: &str, shape: &[u64], fortran_order: bool) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let order = if fortran_order { "True" } else { "False" };
    let mut dict = format!("{{'descr': '{dtype}', 'fortran_order': {order}, 'shape': {shape}, }}");
    const PREAMBLE: usize = 10; // magic (6) + version (2) + length (2)
    let unpadded = PREAMBLE + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut header = Vec::with_capacity(PREAMBLE + dict.len());
    header.extend_from_slice(b"\x93NUMPY\x01\x00");
    // A dict of a few dozen bytes per axis: far below u16::MAX.
    header.extend_from_slice(&u16::try_from(dict.len()).unwrap_or(u16::MAX).to_le_bytes());
    header.extend_from_slice(dict.as_bytes());
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpack_all(packed: &Packed) -> std::io::Result<Vec<u8>> {
        let mut file = Vec::new();
        for (seq, frame) in packed.frames.iter().enumerate() {
            file.extend(unpack(frame, seq as u64, packed.length)?);
        }
        Ok(file)
    }

    #[test]
    fn the_header_is_numpys_and_the_data_starts_aligned() -> std::io::Result<()> {
        let mut packer = Packer::npy("field", "<i4", &[3, 2], true);
        packer.write_i32s([0, 1, 2, 1, 2, -1])?;
        let packed = packer.finish()?;
        let file = unpack_all(&packed)?;
        let (dict, data) = npy_parts(&file).unwrap_or_default();
        assert_eq!((file.len() - data.len()) % 64, 0, "the data starts aligned");
        assert_eq!(
            dict.trim_end(),
            "{'descr': '<i4', 'fortran_order': True, 'shape': (3, 2), }"
        );
        assert!(dict.ends_with('\n'));
        assert_eq!(npy_parts(b"not npy"), None);
        let values: Vec<i32> = data
            .chunks(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(values, [0, 1, 2, 1, 2, -1]);
        assert_eq!(packed.length as usize, file.len());
        let sha: [u8; 32] = Sha256::digest(&file).into();
        assert_eq!(packed.sha256, sha);
        // A one-axis shape is a one-tuple.
        let one = Packer::npy("f", "<i4", &[7], false).finish()?;
        let file = unpack_all(&one)?;
        assert!(String::from_utf8_lossy(&file).contains("'shape': (7,), }"));
        Ok(())
    }

    #[test]
    fn large_files_are_cut_into_chunks_that_unpack_alone() -> std::io::Result<()> {
        let n = CHUNK / 4 * 2 + 1000; // two full chunks and some
        let mut packer = Packer::npy("field", "<i4", &[n as u64], true);
        packer.write_i32s((0..n).map(|i| (i % 1000) as i32))?;
        let packed = packer.finish()?;
        assert_eq!(packed.frames.len(), 3);
        assert!(
            packed.stored_bytes() < packed.length / 10,
            "a periodic field compresses"
        );
        let last = packed.frames.len() as u64 - 1;
        let tail = unpack(&packed.frames[last as usize], last, packed.length)?;
        assert_eq!(tail.len(), chunk_len(last, packed.length));
        assert_eq!(unpack_all(&packed)?.len() as u64, packed.length);
        // A frame read as another chunk is refused, not served short.
        assert!(unpack(&packed.frames[last as usize], 0, packed.length).is_err());
        Ok(())
    }
}
