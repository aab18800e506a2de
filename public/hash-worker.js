// The upload engine's hashing, off the page's thread (a module worker started by
// app/src/uploads/engine/). It reads each file in order and feeds the file's SHA-256 and
// each part's CRC32 through `FileHasher`, the same Rust code as the page's (the page's own
// wasm module is passed in, so nothing is downloaded or compiled twice).
//
// Messages in:  {type: "init", module, glue}        the page's WebAssembly.Module and JS glue URL
//               {type: "part", id, seq, file, start, end}   hash bytes [start, end) of the file
//               {type: "finish", id, seq}            the file's SHA-256 (hex); forgets the file
//               {type: "drop", id}                   forgets the file (cancelled)
//               {type: "ready", seq}                 answers once the module is running
// Messages out: {seq, ok: true, value} or {seq, ok: false, error}
const CHUNK = 16 * 1024 * 1024; // bytes read at once: memory stays small whatever the part size

let ready = null;
const hashers = new Map();
// One request at a time, in the order sent: each file's parts must be fed in order.
let queue = Promise.resolve();

async function handle(msg) {
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
      return h.end_part();
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
  queue = queue.then(async () => {
    try {
      const value = await handle(msg);
      if (msg.seq !== undefined) postMessage({ seq: msg.seq, ok: true, value });
    } catch (err) {
      if (msg.seq !== undefined) postMessage({ seq: msg.seq, ok: false, error: String(err && err.message || err) });
    }
  });
};
