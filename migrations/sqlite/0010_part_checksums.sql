-- Parts carry CRC32 checksums from now on (PartChecksum in app/src/uploads): the browser
-- computes them at a tenth of the cost of SHA-256. Uploads started before keep SHA-256.
ALTER TABLE upload_parts RENAME COLUMN sha256 TO checksum;
ALTER TABLE uploads ADD COLUMN part_checksum TEXT NOT NULL DEFAULT 'SHA256';
