"""The embedded S3 endpoint, driven by a third-party client (boto3), and the same checks run
against moto server: bucket create/head, Put/Get/Head/Delete, ListObjectsV2, multipart
(create, upload part, list parts, complete, abort; CRC64NVME full-object checksums, CRC32
part checksums and the composite checksum), presigned URLs with expiry, SigV4 auth,
and CORS preflight with ETag exposed to pages.

Settings: S3_TEST_ENDPOINT, S3_TEST_ACCESS_KEY, S3_TEST_SECRET_KEY, S3_TEST_KIND
(`embedded` or `moto`: moto checks no signatures and needs CORS configured per bucket).
"""
import hashlib
import os
import time
import unittest
import urllib.error
import urllib.request
import uuid

import boto3
from botocore.client import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["S3_TEST_ENDPOINT"]
KIND = os.environ.get("S3_TEST_KIND", "embedded")
MIB = 1024 * 1024


def client(secret=None):
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=os.environ["S3_TEST_ACCESS_KEY"],
        aws_secret_access_key=secret or os.environ["S3_TEST_SECRET_KEY"],
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def http(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class S3Protocol(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s3 = client()
        cls.bucket = "proto-" + uuid.uuid4().hex[:12]
        cls.s3.create_bucket(Bucket=cls.bucket)
        if KIND == "moto":
            cls.s3.put_bucket_cors(
                Bucket=cls.bucket,
                CORSConfiguration={"CORSRules": [{
                    "AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PUT"],
                    "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"],
                }]},
            )

    def test_bucket_head_and_list(self):
        self.s3.head_bucket(Bucket=self.bucket)
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertIn(self.bucket, names)
        with self.assertRaises(ClientError):
            self.s3.head_bucket(Bucket="no-such-bucket-" + uuid.uuid4().hex[:8])

    def test_put_get_head_delete_and_list(self):
        body = os.urandom(100_000)
        put = self.s3.put_object(Bucket=self.bucket, Key="dir/a.bin", Body=body)
        self.assertEqual(put["ETag"].strip('"'), hashlib.md5(body).hexdigest())
        self.s3.put_object(Bucket=self.bucket, Key="dir/b.txt", Body=b"hello")
        got = self.s3.get_object(Bucket=self.bucket, Key="dir/a.bin")
        self.assertEqual(got["Body"].read(), body)
        head = self.s3.head_object(Bucket=self.bucket, Key="dir/a.bin")
        self.assertEqual(head["ContentLength"], len(body))
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="dir/")
        self.assertEqual(sorted(o["Key"] for o in listed["Contents"]), ["dir/a.bin", "dir/b.txt"])
        page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="dir/", MaxKeys=1)
        self.assertTrue(page["IsTruncated"])
        self.s3.delete_object(Bucket=self.bucket, Key="dir/a.bin")
        with self.assertRaises(ClientError) as e:
            self.s3.head_object(Bucket=self.bucket, Key="dir/a.bin")
        self.assertEqual(e.exception.response["Error"]["Code"], "404")

    def test_multipart_list_parts_complete(self):
        key = "mp/big.bin"
        parts_data = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(123)]
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        etags = []
        for i, data in enumerate(parts_data, start=1):
            etags.append(self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up, PartNumber=i, Body=data)["ETag"])
        listed = self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=up)["Parts"]
        self.assertEqual([p["PartNumber"] for p in listed], [1, 2, 3])
        self.assertEqual([p["ETag"] for p in listed], etags)
        self.assertEqual([p["Size"] for p in listed], [len(d) for d in parts_data])
        self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=up,
            MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]},
        )
        got = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        self.assertEqual(hashlib.sha256(got).digest(), hashlib.sha256(b"".join(parts_data)).digest())

    def test_multipart_with_crc32_checksums(self):
        # What the app's uploads do: an upload created with CRC32, each part checked on
        # arrival, CompleteMultipartUpload repeating each part's checksum, and the object's
        # composite checksum (the CRC32 of the parts' CRC32s, then "-<parts>").
        import base64
        import zlib

        def crc(b):
            return base64.b64encode(zlib.crc32(b).to_bytes(4, "big")).decode()

        key = "mp/crc.bin"
        parts_data = [os.urandom(5 * MIB), os.urandom(777)]
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, ChecksumAlgorithm="CRC32",
                                             ContentType="video/mp4")["UploadId"]
        parts = []
        for i, data in enumerate(parts_data, start=1):
            r = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up, PartNumber=i, Body=data,
                                    ChecksumAlgorithm="CRC32")
            self.assertEqual(r["ChecksumCRC32"], crc(data))
            parts.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumCRC32": crc(data)})
        if KIND != "moto":  # moto checks no part checksums
            with self.assertRaises(ClientError) as bad:
                self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up, PartNumber=3,
                                    Body=b"damaged", ChecksumCRC32=crc(b"original"))
            self.assertIn(bad.exception.response["Error"]["Code"], ("BadDigest", "InvalidRequest"))
            with self.assertRaises(ClientError):
                self.s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=up,
                    MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in parts]},
                )
        self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts})
        head = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        both = base64.b64decode(parts[0]["ChecksumCRC32"]) + base64.b64decode(parts[1]["ChecksumCRC32"])
        self.assertEqual(head["ChecksumCRC32"].split("-")[0], crc(both))
        self.assertEqual(head["ContentType"], "video/mp4")
        self.assertEqual(head["ContentLength"], sum(len(d) for d in parts_data))
        # S3's multipart ETag: the MD5 of the parts' MD5s, then the part count.
        md5s = b"".join(hashlib.md5(d).digest() for d in parts_data)
        self.assertEqual(head["ETag"].strip('"'), f"{hashlib.md5(md5s).hexdigest()}-2")
        got = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        self.assertEqual(got, b"".join(parts_data))

    def test_multipart_with_full_object_crc64nvme(self):
        # What the app's uploads do now: an upload created with CRC64NVME and the FULL_OBJECT
        # checksum type, each part checked on arrival, CompleteMultipartUpload sending the whole
        # object's CRC (the app combines the parts' CRCs), which must be right; HeadObject and
        # GetObject with ChecksumMode=ENABLED report it, without a "-<parts>" suffix.
        import base64
        from awscrt import checksums

        def crc(b):
            return base64.b64encode(checksums.crc64nvme(b).to_bytes(8, "big")).decode()

        key = "mp/crc64.bin"
        parts_data = [os.urandom(5 * MIB), os.urandom(4321)]
        whole = b"".join(parts_data)
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, ChecksumAlgorithm="CRC64NVME",
                                             ChecksumType="FULL_OBJECT")["UploadId"]
        parts = []
        for i, data in enumerate(parts_data, start=1):
            r = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up, PartNumber=i, Body=data,
                                    ChecksumCRC64NVME=crc(data))
            if KIND != "moto" or "ChecksumCRC64NVME" in r:  # moto does not echo it
                self.assertEqual(r["ChecksumCRC64NVME"], crc(data))
            parts.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumCRC64NVME": crc(data)})
        if KIND != "moto":  # moto checks neither part nor whole-object checksums
            with self.assertRaises(ClientError) as bad:
                self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up, PartNumber=3,
                                    Body=b"damaged", ChecksumCRC64NVME=crc(b"original"))
            self.assertIn(bad.exception.response["Error"]["Code"], ("BadDigest", "InvalidRequest"))
            with self.assertRaises(ClientError) as bad:
                self.s3.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts},
                    ChecksumCRC64NVME=crc(b"not the object"), ChecksumType="FULL_OBJECT")
            self.assertEqual(bad.exception.response["Error"]["Code"], "BadDigest")
        done = self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=up, MultipartUpload={"Parts": parts},
            ChecksumCRC64NVME=crc(whole), ChecksumType="FULL_OBJECT")
        self.assertIn(key, done.get("Location", ""))  # the object's URL, as S3 answers
        if KIND != "moto":  # moto answers the completion without it (HEAD has it)
            self.assertEqual(done.get("ChecksumCRC64NVME"), crc(whole))
        head = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumCRC64NVME"], crc(whole))
        self.assertEqual(head["ChecksumType"], "FULL_OBJECT")
        # A download checked against it (what the README tells people to do).
        got = self.s3.get_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
        self.assertEqual(got["ChecksumCRC64NVME"], crc(whole))
        body = got["Body"].read()
        self.assertEqual(crc(body), got["ChecksumCRC64NVME"])
        self.assertEqual(body, whole)

    def test_multipart_abort(self):
        key = "mp/aborted.bin"
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up, PartNumber=1, Body=b"x" * 1000)
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=up)
        with self.assertRaises(ClientError):
            self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=up)

    def test_presigned_put_and_get(self):
        key = "presigned/p.bin"
        body = os.urandom(10_000)
        put_url = self.s3.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=60)
        status, headers, _ = http("PUT", put_url, data=body, headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(status, 200)
        get_url = self.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key, "ResponseContentDisposition": 'attachment; filename="p.bin"'},
            ExpiresIn=60,
        )
        status, headers, got = http("GET", get_url)
        self.assertEqual(status, 200)
        self.assertEqual(got, body)
        self.assertIn("attachment", {k.lower(): v for k, v in headers.items()}["content-disposition"])

    @unittest.skipIf(KIND == "moto", "moto checks no signatures")
    def test_wrong_secret_and_expired_or_tampered_urls_are_refused(self):
        with self.assertRaises(ClientError) as e:
            client(secret="not-the-secret").list_objects_v2(Bucket=self.bucket)
        self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.s3.put_object(Bucket=self.bucket, Key="secret.txt", Body=b"s")
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": "secret.txt"}, ExpiresIn=1)
        self.assertEqual(http("GET", url)[0], 200)
        tampered = url.replace("secret.txt", "secret.txu")
        self.assertEqual(http("GET", tampered)[0], 403)
        time.sleep(2.2)
        status, _, body = http("GET", url)
        self.assertEqual(status, 403)
        self.assertIn(b"expired", body)
        status, _, _ = http("GET", f"{ENDPOINT}/{self.bucket}/secret.txt")
        self.assertEqual(status, 403, "anonymous requests are refused")

    def test_cors_preflight_exposes_etag(self):
        url = f"{ENDPOINT}/{self.bucket}/cors.bin?partNumber=1&uploadId=x"
        status, headers, _ = http("OPTIONS", url, headers={
            "Origin": "http://127.0.0.1:3000",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type",
        })
        self.assertIn(status, (200, 204))
        h = {k.lower(): v for k, v in headers.items()}
        self.assertIn(h.get("access-control-allow-origin"), ("http://127.0.0.1:3000", "*"))
        self.assertIn("PUT", h.get("access-control-allow-methods", ""))
        put_url = self.s3.generate_presigned_url("put_object", Params={"Bucket": self.bucket, "Key": "cors.bin"}, ExpiresIn=60)
        status, headers, _ = http("PUT", put_url, data=b"abc", headers={
            "Origin": "http://127.0.0.1:3000", "Content-Type": "application/octet-stream"})
        self.assertEqual(status, 200)
        h = {k.lower(): v for k, v in headers.items()}
        self.assertIn("etag", h.get("access-control-expose-headers", "").lower())


if __name__ == "__main__":
    unittest.main(verbosity=2)
