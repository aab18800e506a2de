// Browser APIs the upload engine (Rust/wasm, app/src/uploads/engine/) reaches through
// this small shim because they are callback-shaped: walking dropped folders, IndexedDB, and
// drawing an image's preview on a canvas. No file's own bytes are uploaded from here.
(function () {
  "use strict";

  // Files and folders dropped on the page, with each file's folder path inside the drop.
  // Must be called during the drop event (the items list dies after it).
  function walkDrop(dataTransfer) {
    var entries = [];
    var items = dataTransfer.items || [];
    for (var i = 0; i < items.length; i++) {
      var e = items[i].webkitGetAsEntry && items[i].webkitGetAsEntry();
      if (e) entries.push(e);
    }
    if (!entries.length) {
      var files = Array.prototype.slice.call(dataTransfer.files || []);
      return Promise.resolve(files.map(function (f) { return { file: f, path: "" }; }));
    }
    var out = [];
    function walk(entry, dir) {
      if (entry.isFile) {
        return new Promise(function (ok, fail) {
          entry.file(function (f) { out.push({ file: f, path: dir }); ok(); }, fail);
        });
      }
      var sub = dir ? dir + "/" + entry.name : entry.name;
      var reader = entry.createReader();
      // readEntries answers in batches (100 in Chromium) until an empty one.
      function more() {
        return new Promise(function (ok, fail) { reader.readEntries(ok, fail); })
          .then(function (batch) {
            if (!batch.length) return;
            return batch.reduce(function (p, child) {
              return p.then(function () { return walk(child, sub); });
            }, Promise.resolve()).then(more);
          });
      }
      return more();
    }
    return entries.reduce(function (p, e) {
      return p.then(function () { return walk(e, ""); });
    }, Promise.resolve()).then(function () { return out; });
  }

  // Unfinished uploads this browser started: { upload_id, vault_id, name, size,
  // last_modified, folder_path, started_at }. The server keeps the authoritative record.
  var dbp = null;
  function db() {
    if (!dbp) {
      dbp = new Promise(function (ok, fail) {
        var req = indexedDB.open("nexus-uploads", 1);
        req.onupgradeneeded = function () {
          req.result.createObjectStore("uploads", { keyPath: "upload_id" });
        };
        req.onsuccess = function () { ok(req.result); };
        req.onerror = function () { fail(req.error); };
      });
    }
    return dbp;
  }
  function tx(mode, fn) {
    return db().then(function (d) {
      return new Promise(function (ok, fail) {
        var t = d.transaction("uploads", mode);
        var r = fn(t.objectStore("uploads"));
        t.oncomplete = function () { ok(r && r.result); };
        t.onerror = function () { fail(t.error); };
      });
    });
  }

  // A small preview of an image file, made here at upload time (no server-side image
  // processing): at most 320 px, WebP (JPEG where WebP cannot be written), stored beside
  // the file through a presigned PUT the server scopes to the file and the blob's size.
  // Best effort: a file the browser cannot decode simply has no preview.
  function encode(canvas, type) {
    return new Promise(function (ok) { canvas.toBlob(ok, type, 0.8); });
  }
  function storeThumb(arg) {
    var file = arg.file, id = arg.fileId;
    if (!window.createImageBitmap || file.size > 64 * 1024 * 1024) return Promise.resolve(false);
    return createImageBitmap(file).then(function (bmp) {
      var scale = Math.min(1, 320 / Math.max(bmp.width, bmp.height));
      var c = document.createElement("canvas");
      c.width = Math.max(1, Math.round(bmp.width * scale));
      c.height = Math.max(1, Math.round(bmp.height * scale));
      c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
      if (bmp.close) bmp.close();
      return encode(c, "image/webp").then(function (b) {
        return b && b.type === "image/webp" ? b : encode(c, "image/jpeg");
      });
    }).then(function (blob) {
      if (!blob || blob.size > 256 * 1024) return false;
      return fetch("/api/thumbnail_upload", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ file_id: id, size: blob.size, content_type: blob.type }),
      }).then(function (r) {
        if (!r.ok) throw new Error("thumbnail_upload " + r.status);
        return r.json();
      }).then(function (put) {
        var headers = {};
        put.headers.forEach(function (h) { headers[h[0]] = h[1]; });
        return fetch(put.url, { method: "PUT", headers: headers, body: blob });
      }).then(function (r) {
        if (!r.ok) throw new Error("preview PUT " + r.status);
        return fetch("/api/thumbnail_done", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: "file_id=" + encodeURIComponent(id),
        });
      }).then(function (r) { return r.ok; });
    }).catch(function () { return false; });
  }

  window.nexusUploads = {
    walkDrop: walkDrop,
    storeThumb: storeThumb,
    idbPut: function (rec) { return tx("readwrite", function (s) { return s.put(rec); }); },
    idbDelete: function (id) { return tx("readwrite", function (s) { return s.delete(id); }); },
    idbAll: function () { return tx("readonly", function (s) { return s.getAll(); }); },
  };
})();
