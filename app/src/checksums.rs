//! Checksums S3 verifies on object parts, shared by the uploads (which sign them into part
//! URLs), the storage layer (which sends and checks them) and the embedded endpoint. Compiled
//! for the server and the browser (the page's read worker computes them).
use serde::{Deserialize, Serialize};

/// A checksum S3 verifies on each part (`x-amz-checksum-<alg>`, signed into the part's URL).
///
/// Uploads use CRC64NVME with S3's `FULL_OBJECT` checksum type, what S3 and awscli v2 use by
/// default: each part's CRC is computed as the part is read for sending and checked by S3 on
/// arrival, and the parts' CRCs combine (no second pass over any byte) into the whole
/// object's CRC, which S3 checks again at completion and reports on HeadObject and GetObject.
/// CRC32 and SHA-256 part checksums (S3's `COMPOSITE` type) are still understood, for
/// uploads started before CRC64NVME.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartChecksum {
    Crc32,
    Sha256,
    Crc64Nvme,
}

/// CRC-64/NVME of `bytes` (the raw value).
pub fn crc64nvme(bytes: &[u8]) -> u64 {
    crc_fast::checksum(crc_fast::CrcAlgorithm::Crc64Nvme, bytes)
}

/// A CRC-64/NVME value as S3's headers carry it (base64 of its 8 big-endian bytes).
pub fn crc64_b64(crc: u64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(crc.to_be_bytes())
}

fn crc64_from_b64(s: &str) -> Option<u64> {
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    Some(u64::from_be_bytes(raw.try_into().ok()?))
}

/// The CRC-64/NVME of a whole object from its parts' CRCs (base64) and lengths, in order:
/// S3's `FULL_OBJECT` checksum, computed without reading any byte again. None when a part's
/// checksum is not a CRC-64 or there are no parts.
pub fn crc64_combine(parts: &[(String, i64)]) -> Option<String> {
    let mut acc: Option<u64> = None;
    for (sum, len) in parts {
        let crc = crc64_from_b64(sum)?;
        acc = Some(match acc {
            None => crc,
            Some(a) => crc_fast::checksum_combine(
                crc_fast::CrcAlgorithm::Crc64Nvme,
                a,
                crc,
                (*len).max(0) as u64,
            ),
        });
    }
    acc.map(crc64_b64)
}

impl PartChecksum {
    /// The algorithm's name in S3's API (`ChecksumAlgorithm`) and in our records.
    pub fn name(self) -> &'static str {
        match self {
            PartChecksum::Crc32 => "CRC32",
            PartChecksum::Sha256 => "SHA256",
            PartChecksum::Crc64Nvme => "CRC64NVME",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "CRC32" => Some(PartChecksum::Crc32),
            "SHA256" => Some(PartChecksum::Sha256),
            "CRC64NVME" => Some(PartChecksum::Crc64Nvme),
            _ => None,
        }
    }

    /// Whether S3 checksums a multipart object made with it as one whole (`FULL_OBJECT`, the
    /// only type CRC64NVME has) rather than as the checksum of its parts' (`COMPOSITE`).
    pub fn full_object(self) -> bool {
        self == PartChecksum::Crc64Nvme
    }

    /// The checksum S3 reports for a multipart object made of parts with these checksums and
    /// lengths: the whole object's CRC (full-object), or the composite `…-<parts>`.
    pub fn object_checksum(self, parts: &[(String, i64)]) -> Option<String> {
        if self.full_object() {
            crc64_combine(parts)
        } else {
            let sums: Vec<String> = parts.iter().map(|(s, _)| s.clone()).collect();
            self.composite(&sums)
        }
    }

    /// The header that carries it (`x-amz-checksum-crc32`).
    pub fn header(self) -> &'static str {
        match self {
            PartChecksum::Crc32 => "x-amz-checksum-crc32",
            PartChecksum::Sha256 => "x-amz-checksum-sha256",
            PartChecksum::Crc64Nvme => "x-amz-checksum-crc64nvme",
        }
    }

    fn digest_len(self) -> usize {
        match self {
            PartChecksum::Crc32 => 4,
            PartChecksum::Sha256 => 32,
            PartChecksum::Crc64Nvme => 8,
        }
    }

    /// The checksum of `bytes`, base64, as the header carries it.
    pub fn of(self, bytes: &[u8]) -> String {
        let mut h = self.hasher();
        h.update(bytes);
        h.finish()
    }

    /// Whether `s` is a checksum of this kind (base64 of 4 or 32 bytes).
    pub fn is_valid(self, s: &str) -> bool {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .is_ok_and(|r| r.len() == self.digest_len())
    }

    /// A running checksum, fed as bytes arrive.
    pub fn hasher(self) -> PartHasher {
        match self {
            PartChecksum::Crc32 => PartHasher::Crc32(crc32fast::Hasher::new()),
            PartChecksum::Sha256 => PartHasher::Sha256(Default::default()),
            PartChecksum::Crc64Nvme => {
                PartHasher::Crc64(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc64Nvme))
            }
        }
    }

    /// S3's checksum of a multipart object made with these part checksums: the checksum of
    /// the parts' binary checksums one after another, base64, then `-<number of parts>`.
    /// None when a part's checksum is not of this kind.
    pub fn composite(self, parts: &[String]) -> Option<String> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut all = Vec::with_capacity(parts.len() * self.digest_len());
        for p in parts {
            let raw = b64
                .decode(p)
                .ok()
                .filter(|r| r.len() == self.digest_len())?;
            all.extend_from_slice(&raw);
        }
        Some(format!("{}-{}", self.of(&all), parts.len()))
    }
}

/// A [`PartChecksum`] being computed over a stream.
#[derive(Clone)]
pub enum PartHasher {
    Crc32(crc32fast::Hasher),
    Sha256(sha2::Sha256),
    Crc64(crc_fast::Digest),
}

impl PartHasher {
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest;
        match self {
            PartHasher::Crc32(h) => h.update(bytes),
            PartHasher::Sha256(h) => h.update(bytes),
            PartHasher::Crc64(h) => h.update(bytes),
        }
    }

    /// The checksum, base64.
    pub fn finish(self) -> String {
        use base64::Engine as _;
        use sha2::Digest;
        let raw = match self {
            PartHasher::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
            PartHasher::Sha256(h) => h.finalize().to_vec(),
            PartHasher::Crc64(h) => h.finalize().to_be_bytes().to_vec(),
        };
        base64::engine::general_purpose::STANDARD.encode(raw)
    }
}

/// Whether a store's object checksum is `want`: equal, or (a composite checksum) the same
/// digest without the `-<parts>` suffix some stores, moto among them, leave off.
pub fn same_composite(got: &str, want: &str) -> bool {
    match got.split_once('-') {
        Some(_) => got == want,
        None => {
            got == want
                || want
                    .split_once('-')
                    .is_some_and(|(digest, _)| digest == got)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_checksum_is_the_checksum_of_part_checksums() {
        use base64::Engine as _;
        use sha2::{Digest, Sha256};
        let b64 = base64::engine::general_purpose::STANDARD;
        let p1 = Sha256::digest(b"hello ");
        let p2 = Sha256::digest(b"world");
        let mut both = p1.to_vec();
        both.extend_from_slice(&p2);
        let want = format!("{}-2", b64.encode(Sha256::digest(&both)));
        let sha = PartChecksum::Sha256;
        assert_eq!(sha.of(b"hello "), b64.encode(p1));
        assert_eq!(sha.composite(&[b64.encode(p1), b64.encode(p2)]), Some(want));
        assert_eq!(sha.composite(&["bm90IGEgZGlnZXN0".into()]), None);
        assert!(sha.is_valid(&b64.encode(p1)));
        assert!(!sha.is_valid("abc"));
        // CRC32 (what zlib's crc32 gives, big-endian): S3's composite is the CRC32 of the
        // parts' four-byte checksums.
        let crc = PartChecksum::Crc32;
        assert_eq!(crc.of(b"hello "), "7YH59g==");
        assert_eq!(crc.of(b"world"), "OncRQw==");
        assert_eq!(
            crc.composite(&["7YH59g==".into(), "OncRQw==".into()]),
            Some("1Fu2mQ==-2".into())
        );
        assert!(crc.is_valid("OncRQw=="));
        assert!(!crc.is_valid(&b64.encode(p1)));
        assert_eq!(crc.composite(&[b64.encode(p1)]), None);
        let mut h = crc.hasher();
        h.update(b"hel");
        h.update(b"lo ");
        assert_eq!(h.finish(), "7YH59g==");
        let mut h = sha.hasher();
        h.update(b"hello ");
        assert_eq!(h.finish(), b64.encode(p1));
        assert_eq!(PartChecksum::from_name("crc32"), Some(crc));
        assert_eq!(PartChecksum::from_name(sha.name()), Some(sha));
        assert!(same_composite("abc-2", "abc-2"));
        assert!(same_composite("abc", "abc-2"));
        assert!(!same_composite("abc-3", "abc-2"));
        assert!(!same_composite("abd", "abc-2"));
        assert!(same_composite("abc", "abc"));
        assert!(!same_composite("abd", "abc"));
    }

    #[test]
    fn crc64nvme_parts_combine_into_the_whole_objects_crc() {
        // The check value of CRC-64/NVME (the CRC catalogue's "123456789").
        assert_eq!(crc64nvme(b"123456789"), 0xae8b14860a799888);
        let alg = PartChecksum::Crc64Nvme;
        assert_eq!(alg.of(b"123456789"), crc64_b64(0xae8b14860a799888));
        assert!(alg.is_valid(&alg.of(b"x")));
        assert!(!alg.is_valid("7YH59g=="));
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let whole = alg.of(&data);
        for cuts in [
            vec![0, 100_000],
            vec![0, 1, 100_000],
            vec![0, 40_000, 40_000, 99_999, 100_000],
        ] {
            let parts: Vec<(String, i64)> = cuts
                .windows(2)
                .map(|w| (alg.of(&data[w[0]..w[1]]), (w[1] - w[0]) as i64))
                .collect();
            assert_eq!(alg.object_checksum(&parts), Some(whole.clone()), "{cuts:?}");
        }
        // Fed in pieces, as parts are read.
        let mut h = alg.hasher();
        h.update(&data[..3]);
        h.update(&data[3..]);
        assert_eq!(h.finish(), whole);
        // An empty file is one empty part, whose CRC is 0.
        assert_eq!(alg.of(b""), crc64_b64(0));
        assert_eq!(alg.object_checksum(&[(alg.of(b""), 0)]), Some(crc64_b64(0)));
        assert_eq!(alg.object_checksum(&[]), None);
        assert_eq!(alg.object_checksum(&[("7YH59g==".into(), 6)]), None);
        assert!(alg.full_object() && !PartChecksum::Crc32.full_object());
        assert_eq!(PartChecksum::from_name("crc64nvme"), Some(alg));
        assert_eq!(alg.header(), "x-amz-checksum-crc64nvme");
    }
}
