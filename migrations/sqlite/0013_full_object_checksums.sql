-- New uploads are checksummed with CRC64NVME as one whole object (S3's FULL_OBJECT type):
-- the value S3 verified at completion is kept with the file. SHA-256 moves off the upload's
-- critical path: it is recorded per the vault's setting ('auto': files up to 1 GiB;
-- 'always'; 'never') by a low-priority worker, and may arrive after the upload completes.
ALTER TABLE files ADD COLUMN crc64nvme TEXT;
ALTER TABLE vaults ADD COLUMN sha256_mode TEXT NOT NULL DEFAULT 'auto';
CREATE INDEX files_folder_crc ON files(vault_id, folder_id, crc64nvme);
