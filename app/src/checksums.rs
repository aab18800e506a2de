//! Checksums S3 verifies on object parts, shared by the uploads (which sign them into part
//! URLs), the storage layer (which sends and checks them) and the embedded endpoint. Compiled
//! for the server and the browser (the page's hash worker computes them).
use serde::{Deserialize, Serialize};

/// A checksum S3 verifies on each part (`x-amz-checksum-<alg>`, signed into the part's URL).
///
/// Uploads use CRC32, what the AWS SDKs send by default: the browser computes it at a
/// tenth of the cost of a SHA-256, which leaves the CPU to the file's own SHA-256 (the one
/// stored with the file and checked by people's `sha256sum`). SHA-256 part checksums are
/// still understood, for uploads started before CRC32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartChecksum {
    Crc32,
    Sha256,
}

impl PartChecksum {
    /// The algorithm's name in S3's API (`ChecksumAlgorithm`) and in our records.
    pub fn name(self) -> &'static str {
        match self {
            PartChecksum::Crc32 => "CRC32",
            PartChecksum::Sha256 => "SHA256",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "CRC32" => Some(PartChecksum::Crc32),
            "SHA256" => Some(PartChecksum::Sha256),
            _ => None,
        }
    }

    /// The header that carries it (`x-amz-checksum-crc32`).
    pub fn header(self) -> &'static str {
        match self {
            PartChecksum::Crc32 => "x-amz-checksum-crc32",
            PartChecksum::Sha256 => "x-amz-checksum-sha256",
        }
    }

    fn digest_len(self) -> usize {
        match self {
            PartChecksum::Crc32 => 4,
            PartChecksum::Sha256 => 32,
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
}

impl PartHasher {
    pub fn update(&mut self, bytes: &[u8]) {
        use sha2::Digest;
        match self {
            PartHasher::Crc32(h) => h.update(bytes),
            PartHasher::Sha256(h) => h.update(bytes),
        }
    }

    /// The checksum, base64.
    pub fn finish(self) -> String {
        use base64::Engine as _;
        use sha2::Digest;
        let raw = match self {
            PartHasher::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
            PartHasher::Sha256(h) => h.finalize().to_vec(),
        };
        base64::engine::general_purpose::STANDARD.encode(raw)
    }
}

/// Whether a store's composite checksum is `want` (some stores, moto among them, leave off
/// the `-<parts>` suffix; when present it must match too).
pub fn same_composite(got: &str, want: &str) -> bool {
    match got.split_once('-') {
        Some(_) => got == want,
        None => want
            .split_once('-')
            .is_some_and(|(digest, _)| digest == got),
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
    }
}
