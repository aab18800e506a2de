// The upload engine's reading and hashing, off the page's thread (module workers started by
// app/src/uploads/hashing.rs; the page's own wasm module is passed in, so nothing is
// downloaded or compiled twice). Two run: the read worker and the SHA worker.
//
// Messages in:  {type: "init", module, glue}   the page's WebAssembly.Module and JS glue URL
//               {type: "read", seq, file, start, end, alg, keep}
//                     reads bytes [start, end) into one buffer and checksums them (alg:
//                     CRC64NVME, CRC32 or SHA256); answers {sum} and, with keep, the buffer
//                     transferred (not copied) to the page, which PUTs it as it is. Reads run
//                     at once, several at a time, answered as they finish.
//               {type: "part", id, seq, file, start, end}
//                     feeds bytes [start, end) to file id's SHA-256 (in order)
//               {type: "finish", id, seq}   "<sha256 hex> <crc64nvme base64>"; forgets the file
//               {type: "drop", id}          forgets the file (cancelled)
//               {type: "ready", seq}        answers once the module is running
// Messages out: {seq, ok: true, value} or {seq, ok: false, error}
const CHUNK = 16 * 1024 * 1024; // the SHA pass reads this much at once

let ready = null;
const hashers = new Map();
// SHA requests one at a time, in the order sent: each file's ranges must be fed in order.
let queue = Promise.resolve();

// Runs `run` and posts its answer: `run` resolves to {value, transfer} (the buffers to move
// to the page rather than copy).
function answer(msg, run) {
  return run().then(
    ({ value, transfer }) => {
      if (msg.seq !== undefined) postMessage({ seq: msg.seq, ok: true, value }, transfer || []);
    },
    (err) => {
      if (msg.seq !== undefined) postMessage({ seq: msg.seq, ok: false, error: String((err && err.message) || err) });
    },
  );
}

async function read(msg) {
  const glue = await ready;
  const buf = await msg.file.slice(msg.start, msg.end).arrayBuffer();
  const sum = glue.part_checksum(msg.alg, new Uint8Array(buf));
  if (!msg.keep) return { value: { sum } };
  return { value: { sum, buf }, transfer: [buf] };
}

async function sha(msg) {
  const glue = await ready;
  switch (msg.type) {
    case "part": {
      let h = hashers.get(msg.id);
      if (!h) hashers.set(msg.id, (h = new glue.FileHasher()));
      for (let at = msg.start; at < msg.end; at += CHUNK) {
        const end = Math.min(msg.end, at + CHUNK);
        const buf = await msg.file.slice(at, end).arrayBuffer();
        h.update(new Uint8Array(buf));
      }
      return null;
    }
    case "finish": {
      const h = hashers.get(msg.id) || new glue.FileHasher();
      hashers.delete(msg.id);
      return h.finish();
    }
    case "ready":
      return true;
    case "drop": {
      const h = hashers.get(msg.id);
      hashers.delete(msg.id);
      if (h) h.free();
      return null;
    }
    default:
      throw new Error(`unknown request ${msg.type}`);
  }
}

onmessage = (e) => {
  const msg = e.data;
  if (msg.type === "init") {
    ready = import(msg.glue).then((glue) => {
      glue.initSync({ module: msg.module });
      return glue;
    });
    ready.catch(() => {});
    return;
  }
  if (msg.type === "read") {
    answer(msg, () => read(msg));
    return;
  }
  queue = queue.then(() => answer(msg, async () => ({ value: await sha(msg) })));
};
