"""bench/upload's signing for the bare-page ceiling (boto3, the embedded endpoint's keys):
`create` starts a multipart upload of KEY and prints its id and a presigned PUT URL for each
part; `complete` completes it with the ETags the page got.
Usage: s3sign.py create ENDPOINT ACCESS SECRET BUCKET KEY SIZE PART_SIZE
       s3sign.py complete ENDPOINT ACCESS SECRET BUCKET KEY UPLOAD_ID ETAGS_JSON"""
import json
import sys

import boto3
from botocore.config import Config

cmd, endpoint, access, secret, bucket, key = sys.argv[1:7]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access, aws_secret_access_key=secret,
                  region_name="us-east-1", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
if cmd == "create":
    size, part = int(sys.argv[7]), int(sys.argv[8])
    up = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    n = max(1, -(-size // part))
    urls = [s3.generate_presigned_url("upload_part", ExpiresIn=3600, Params={
        "Bucket": bucket, "Key": key, "UploadId": up, "PartNumber": i}) for i in range(1, n + 1)]
    print(json.dumps({"upload_id": up, "urls": urls}))
elif cmd == "complete":
    up, etags = sys.argv[7], json.loads(sys.argv[8])
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
