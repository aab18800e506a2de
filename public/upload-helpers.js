// Browser APIs the upload engine (Rust/wasm, app/src/uploads/engine.rs) reaches through
// this small shim because they are callback-shaped: walking dropped folders and IndexedDB.
// No file bytes pass through here.
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

  window.nexusUploads = {
    walkDrop: walkDrop,
    idbPut: function (rec) { return tx("readwrite", function (s) { return s.put(rec); }); },
    idbDelete: function (id) { return tx("readwrite", function (s) { return s.delete(id); }); },
    idbAll: function () { return tx("readonly", function (s) { return s.getAll(); }); },
  };
})();
