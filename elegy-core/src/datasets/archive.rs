//! The zip archive of a `.npz` file, read with every size checked against the file before
//! anything is allocated: a member can yield at most the bytes its central-directory entry
//! declares (and decompression stops there), the central directory must lie inside the file,
//! and every allocation here is bounded by the file's size.
//!
//! Only what NumPy (`savez`, `savez_compressed`) and ndarray-npy write is read: one disk,
//! members stored or deflated, zip64 sizes and offsets, no encryption.

use std::io::{self, Read, Seek, SeekFrom};

/// One member, as the central directory describes it.
pub(super) struct Member {
    pub name: String,
    method: u16,
    flags: u16,
    crc32: u32,
    compressed: u64,
    /// The uncompressed size the archive declares.
    pub size: u64,
    local_header: u64,
}

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const EOCD64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const EOCD64_SIGNATURE: u32 = 0x0606_4b50;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const EOCD_LEN: u64 = 22;
const CENTRAL_LEN: usize = 46;

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// `len` bytes at `offset` of `file`, which is `file_len` bytes long; the range is checked
/// against the file first, so the allocation is at most the file's size.
fn read_at<R: Read + Seek>(
    file: &mut R,
    file_len: u64,
    offset: u64,
    len: u64,
    what: &str,
) -> Result<Vec<u8>, String> {
    if offset.checked_add(len).is_none_or(|end| end > file_len) {
        return Err(format!(
            "the {what} ({len} bytes at offset {offset}) lies past the end of the file \
             ({file_len} bytes): the archive is truncated or corrupt"
        ));
    }
    let mut bytes = vec![0; len as usize];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read the {what}: {e}"))?;
    Ok(bytes)
}

/// The members of the archive `file` of `file_len` bytes, in central-directory order.
pub(super) fn members<R: Read + Seek>(file: &mut R, file_len: u64) -> Result<Vec<Member>, String> {
    let not_zip = "not a zip archive (no end-of-central-directory record): a .npz file is one";
    if file_len < EOCD_LEN {
        return Err(format!("{file_len} bytes are too few: {not_zip}"));
    }
    // The end record is the last 22 bytes but for a comment of at most 65535 bytes.
    let tail_len = file_len.min(EOCD_LEN + 0xffff);
    let tail = read_at(
        file,
        file_len,
        file_len - tail_len,
        tail_len,
        "end of the archive",
    )?;
    let eocd_at = (0..=tail.len() - EOCD_LEN as usize)
        .rev()
        .find(|&i| {
            u32_at(&tail, i) == Some(EOCD_SIGNATURE)
                && u16_at(&tail, i + 20)
                    .is_some_and(|c| i + EOCD_LEN as usize + usize::from(c) == tail.len())
        })
        .ok_or_else(|| not_zip.to_string())?;
    let eocd = &tail[eocd_at..];
    let eocd_offset = file_len - tail_len + eocd_at as u64;
    let field16 = |at| u16_at(eocd, at).unwrap_or(0);
    let field32 = |at| u32_at(eocd, at).unwrap_or(0);
    let (mut disk, mut cd_disk) = (u32::from(field16(4)), u32::from(field16(6)));
    let mut count = u64::from(field16(10));
    let mut cd_size = u64::from(field32(12));
    let mut cd_offset = u64::from(field32(16));
    let mut cd_end_limit = eocd_offset;
    if count == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
        // Zip64: a locator just before the end record points to the zip64 end record.
        let locator_at = eocd_offset.checked_sub(20).ok_or_else(|| {
            "the archive's end record asks for zip64 sizes but has no zip64 locator".to_string()
        })?;
        let locator = read_at(file, file_len, locator_at, 20, "zip64 locator")?;
        if u32_at(&locator, 0) != Some(EOCD64_LOCATOR_SIGNATURE) {
            return Err(
                "the archive's end record asks for zip64 sizes but has no zip64 locator: the \
                 archive is corrupt"
                    .into(),
            );
        }
        let record_at = u64_at(&locator, 8).unwrap_or(u64::MAX);
        let record = read_at(file, locator_at, record_at, 56, "zip64 end record")?;
        if u32_at(&record, 0) != Some(EOCD64_SIGNATURE) {
            return Err("the zip64 end record is missing: the archive is corrupt".into());
        }
        disk = u32_at(&record, 16).unwrap_or(1);
        cd_disk = u32_at(&record, 20).unwrap_or(1);
        count = u64_at(&record, 32).unwrap_or(u64::MAX);
        cd_size = u64_at(&record, 40).unwrap_or(u64::MAX);
        cd_offset = u64_at(&record, 48).unwrap_or(u64::MAX);
        cd_end_limit = record_at;
    }
    if disk != 0 || cd_disk != 0 {
        return Err("the archive spans several disks, which is not supported".into());
    }
    let directory = read_at(file, cd_end_limit, cd_offset, cd_size, "central directory")?;
    // Each entry takes at least 46 bytes: the count cannot ask for more than the directory holds.
    if count > cd_size / CENTRAL_LEN as u64 {
        return Err(format!(
            "the archive declares {count} members but its central directory of {cd_size} bytes \
             holds at most {}: the archive is corrupt",
            cd_size / CENTRAL_LEN as u64
        ));
    }
    let mut members = Vec::with_capacity(count as usize);
    let mut at = 0usize;
    for index in 0..count {
        let corrupt = || format!("central directory entry {index} is corrupt");
        let entry = directory.get(at..at + CENTRAL_LEN).ok_or_else(corrupt)?;
        if u32_at(entry, 0) != Some(CENTRAL_SIGNATURE) {
            return Err(corrupt());
        }
        let flags = u16_at(entry, 8).ok_or_else(corrupt)?;
        let method = u16_at(entry, 10).ok_or_else(corrupt)?;
        let crc32 = u32_at(entry, 16).ok_or_else(corrupt)?;
        let mut compressed = u64::from(u32_at(entry, 20).ok_or_else(corrupt)?);
        let mut size = u64::from(u32_at(entry, 24).ok_or_else(corrupt)?);
        let name_len = usize::from(u16_at(entry, 28).ok_or_else(corrupt)?);
        let extra_len = usize::from(u16_at(entry, 30).ok_or_else(corrupt)?);
        let comment_len = usize::from(u16_at(entry, 32).ok_or_else(corrupt)?);
        let mut local_header = u64::from(u32_at(entry, 42).ok_or_else(corrupt)?);
        let name_at = at + CENTRAL_LEN;
        let name = directory
            .get(name_at..name_at + name_len)
            .ok_or_else(corrupt)?;
        let extra = directory
            .get(name_at + name_len..name_at + name_len + extra_len)
            .ok_or_else(corrupt)?;
        at = name_at + name_len + extra_len + comment_len;
        // Zip64 sizes: the fields that read 0xffffffff are in the extra field 0x0001, in order.
        let mut rest = extra;
        while let (Some(id), Some(len)) = (u16_at(rest, 0), u16_at(rest, 2)) {
            let data = rest.get(4..4 + usize::from(len)).ok_or_else(corrupt)?;
            if id == 1 {
                let mut values = data.chunks_exact(8).map(|b| u64_at(b, 0));
                for field in [&mut size, &mut compressed, &mut local_header] {
                    if *field == 0xffff_ffff {
                        *field = values.next().flatten().ok_or_else(corrupt)?;
                    }
                }
            }
            rest = &rest[4 + usize::from(len)..];
        }
        members.push(Member {
            name: String::from_utf8_lossy(name).into_owned(),
            method,
            flags,
            crc32,
            compressed,
            size,
            local_header,
        });
    }
    Ok(members)
}

/// A reader of the bytes of `member`, which yields at most `member.size + 1` bytes (one more
/// than declared shows that the member holds more than it declares), and the checks to make
/// once it is read. `archive_len` is the size of the archive `file`.
pub(super) fn open<'a, R: Read + Seek + 'a>(
    file: &'a mut R,
    archive_len: u64,
    member: &Member,
) -> Result<MemberReader<'a>, String> {
    if member.flags & 1 != 0 {
        return Err("it is encrypted, which is not supported".into());
    }
    if member.method != 0 && member.method != 8 {
        return Err(format!(
            "compression method {} is not supported (NumPy stores members or deflates them: \
             methods 0 and 8)",
            member.method
        ));
    }
    let local = read_at(file, archive_len, member.local_header, 30, "local header")?;
    if u32_at(&local, 0) != Some(LOCAL_SIGNATURE) {
        return Err(format!(
            "no local header at offset {} where the central directory says it starts: the \
             archive is corrupt",
            member.local_header
        ));
    }
    let skip = 30
        + u64::from(u16_at(&local, 26).unwrap_or(0))
        + u64::from(u16_at(&local, 28).unwrap_or(0));
    let data_start = member.local_header + skip;
    if data_start
        .checked_add(member.compressed)
        .is_none_or(|end| end > archive_len)
    {
        return Err(format!(
            "its {} bytes of data at offset {data_start} lie past the end of the archive ({} \
             bytes): the archive is truncated or corrupt",
            member.compressed, archive_len
        ));
    }
    if member.method == 0 && member.compressed != member.size {
        return Err(format!(
            "it is stored uncompressed in {} bytes but declares a size of {}: the archive is \
             corrupt",
            member.compressed, member.size
        ));
    }
    file.seek(SeekFrom::Start(data_start))
        .map_err(|e| format!("cannot read it: {e}"))?;
    let raw = Read::take(file, member.compressed);
    let inner: Box<dyn Read + 'a> = if member.method == 8 {
        Box::new(flate2::read::DeflateDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    Ok(MemberReader {
        inner: inner.take(member.size.saturating_add(1)),
        hasher: crc32fast::Hasher::new(),
        crc32: member.crc32,
    })
}

/// The bytes of a member, checksummed as they are read.
pub(super) struct MemberReader<'a> {
    inner: io::Take<Box<dyn Read + 'a>>,
    hasher: crc32fast::Hasher,
    crc32: u32,
}

impl MemberReader<'_> {
    /// After the declared bytes were read: an error if more follow or the checksum differs.
    pub(super) fn finish(mut self, declared: u64) -> Result<(), String> {
        let mut one = [0u8; 1];
        if matches!(self.read(&mut one), Ok(n) if n > 0) {
            return Err(format!(
                "it holds more than the {declared} bytes its entry declares: the archive is \
                 corrupt"
            ));
        }
        let crc = self.hasher.clone().finalize();
        if crc != self.crc32 {
            return Err(format!(
                "checksum mismatch (CRC-32 {crc:#010x}, the archive says {:#010x}): the archive \
                 is corrupt",
                self.crc32
            ));
        }
        Ok(())
    }
}

impl Read for MemberReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
