// bench/upload's Uppy page: Uppy's S3 multipart upload (@uppy/core + @uppy/aws-s3, its own
// code, signing with the embedded endpoint's keys through its getCredentials option), one
// file. Bundled by esbuild into bench/uppy/dist/uppy.js; run by bench/upload-peers.js.
import Uppy from '@uppy/core';
import AwsS3 from '@uppy/aws-s3';

window.runUppy = (file, { endpoint, accessKeyId, secretAccessKey, partSize }) =>
  new Promise((resolve, reject) => {
    const uppy = new Uppy({ autoProceed: false });
    uppy.use(AwsS3, {
      s3Endpoint: endpoint,
      region: 'us-east-1',
      shouldUseMultipart: true,
      getChunkSize: () => partSize,
      getCredentials: async () => ({
        credentials: { accessKeyId, secretAccessKey, sessionToken: '' },
        region: 'us-east-1',
      }),
    });
    uppy.addFile({ name: file.name, type: file.type || 'application/octet-stream', data: file });
    const t0 = performance.now();
    uppy.on('upload-error', (_f, err) => reject(new Error(String(err && err.message || err))));
    uppy.upload().then((result) => {
      if (result.failed && result.failed.length) reject(new Error('Uppy: upload failed'));
      else resolve({ seconds: (performance.now() - t0) / 1000 });
    }, reject);
  });
