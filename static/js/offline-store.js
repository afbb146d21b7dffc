// The offline counter's storage and sync (no library; IndexedDB, Web Locks and fetch only).
//
// IndexedDB "lovemart-counter" keeps, per village: the latest snapshot of active cards and products
// ("snapshots"), the outbox of redemptions made offline ("outbox", one record per request key), and each
// village's last sequence number ("meta"). A record leaves the outbox only after the server has answered for
// it, and stays (marked) until a snapshot taken after that answer is stored, so the balance shown never
// counts a redemption twice or forgets one; one the server could not book stays in view a week. Sequence numbers are taken in the same IndexedDB transaction
// that writes the record, so two tabs never take the same number; one tab at a time syncs (Web Locks).
(function () {
  "use strict";

  var DB_NAME = "lovemart-counter";
  var BATCH = 100;
  var KEEP_PENDING_MS = 7 * 24 * 3600 * 1000;
  var dbPromise = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          var db = request.result;
          db.createObjectStore("snapshots", { keyPath: "village" });
          var outbox = db.createObjectStore("outbox", { keyPath: "key" });
          outbox.createIndex("village", "village");
          db.createObjectStore("meta", { keyPath: "name" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function done(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function finished(tx) {
    return new Promise(function (resolve, reject) {
      tx.oncomplete = function () { resolve(); };
      tx.onerror = tx.onabort = function () { reject(tx.error); };
    });
  }

  function snapshot(village) {
    return open().then(function (db) {
      return done(db.transaction("snapshots").objectStore("snapshots").get(village));
    });
  }

  function records(village) {
    return open().then(function (db) {
      var index = db.transaction("outbox").objectStore("outbox").index("village");
      return done(index.getAll(village));
    }).then(function (all) {
      return all.sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  // Store a snapshot the server just gave; drop the records it already reflects.
  function putSnapshot(village, data) {
    var fetchedAt = Date.now();
    return open().then(function (db) {
      var tx = db.transaction(["snapshots", "outbox", "meta"], "readwrite");
      tx.objectStore("snapshots").put({ village: village, fetched_at: fetchedAt, data: data });
      var meta = tx.objectStore("meta");
      var name = "seq:" + village;
      done(meta.get(name)).then(function (row) {
        var known = data.device ? data.device.last_seq : 0;
        if (!row || row.value < known) { meta.put({ name: name, value: known }); }
      });
      var outbox = tx.objectStore("outbox");
      done(outbox.index("village").getAll(village)).then(function (all) {
        all.forEach(function (record) {
          // Booked ones go once the snapshot holds them; pending ones stay in view a week (the supervisor
          // decides them on the server, where they are kept).
          var booked = record.status === "applied" && record.synced_at < fetchedAt;
          var shown = record.status === "pending" && record.synced_at < fetchedAt - KEEP_PENDING_MS;
          if (booked || shown) { outbox.delete(record.key); }
        });
      });
      return finished(tx);
    });
  }

  // Write one offline redemption with the device's next sequence number: one transaction, so two tabs
  // cannot take the same number and a record is never half written.
  function addRecord(village, record) {
    return open().then(function (db) {
      var tx = db.transaction(["meta", "outbox"], "readwrite");
      var meta = tx.objectStore("meta");
      var name = "seq:" + village;
      done(meta.get(name)).then(function (row) {
        var seq = (row ? row.value : 0) + 1;
        meta.put({ name: name, value: seq });
        record.seq = seq;
        record.village = village;
        record.status = "waiting";
        record.provisional_no = record.provisional_prefix + seq;
        tx.objectStore("outbox").add(record);
      });
      return finished(tx).then(function () { return record; });
    });
  }

  function update(recordsToPut) {
    return open().then(function (db) {
      var tx = db.transaction("outbox", "readwrite");
      recordsToPut.forEach(function (record) { tx.objectStore("outbox").put(record); });
      return finished(tx);
    });
  }

  function waiting(village) {
    return records(village).then(function (all) {
      return all.filter(function (r) { return r.status === "waiting"; });
    });
  }

  // Count the records that wait in any village (the sign-out guard).
  function waitingAnywhere() {
    return open().then(function (db) {
      return done(db.transaction("outbox").objectStore("outbox").getAll());
    }).then(function (all) {
      return all.filter(function (r) { return r.status === "waiting"; }).length;
    });
  }

  // Does the snapshot still leave this record out? (Then the balance shown must take it off.)
  function unreflected(record, stored) {
    if (record.status === "waiting" || record.status === "refused") { return true; }
    return !stored || record.synced_at >= stored.fetched_at;
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (response) { return readJson(response); });
  }

  function readJson(response) {
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("application/json") < 0) {
      var error = new Error("sign-in");
      error.kind = "sign-in";
      throw error;
    }
    return response.json().then(function (body) { return { status: response.status, body: body }; });
  }

  // Refresh the snapshot; resolve with it (or reject when the server cannot be reached).
  function refresh(village, snapshotUrl) {
    return getJson(snapshotUrl).then(function (answer) {
      if (answer.status !== 200) { throw new Error("snapshot " + answer.status); }
      return putSnapshot(village, answer.body).then(function () { return answer.body; });
    });
  }

  function withLock(name, work) {
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request(name, { ifAvailable: true }, function (lock) {
        return lock ? work() : { busy: true };
      });
    }
    return work();
  }

  // Send what waits, in order, then take a fresh snapshot. Resolves with a summary for the page.
  function sync(village, snapshotUrl, syncUrl) {
    return withLock("lovemart-sync-" + village, function () {
      var summary = { synced: 0, pending: 0, refused: [], missing: [], clockMinutes: 0, notAllowed: false };
      return getJson(snapshotUrl).then(function (first) {
        var token = first.body.csrf_token;
        return waiting(village).then(function (toSend) {
          var chain = Promise.resolve();
          for (var i = 0; i < toSend.length; i += BATCH) {
            chain = chain.then(sendBatch.bind(null, toSend.slice(i, i + BATCH), token, syncUrl, summary));
          }
          return chain;
        });
      }).then(function () {
        return refresh(village, snapshotUrl);
      }).then(function () { return summary; });
    });
  }

  function sendBatch(batch, token, syncUrl, summary) {
    var body = {
      sent_at: new Date().toISOString(),
      records: batch.map(function (r) {
        return {
          seq: r.seq, key: r.key, card: r.card, lines: r.lines, total: r.total,
          provisional_no: r.provisional_no, client_at: r.client_at,
          snapshot_taken_at: r.snapshot_taken_at,
          snapshot_age: Math.max(0, Math.round(r.snapshot_age)),
        };
      }),
    };
    return fetch(syncUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": token },
      body: JSON.stringify(body),
    }).then(readJson).then(function (answer) {
      if (answer.status === 409 && answer.body.error) { summary.notAllowed = true; return; }
      if (answer.status !== 200) { throw new Error("sync " + answer.status); }
      var bySeq = {};
      batch.forEach(function (r) { bySeq[r.seq] = r; });
      var now = Date.now();
      var changed = [];
      answer.body.results.forEach(function (result) {
        var record = bySeq[result.seq];
        if (!record || record.key !== result.key) { return; }
        record.status = result.status;
        record.receipt_no = result.receipt_no || "";
        record.problem = result.problem || "";
        record.synced_at = now;
        changed.push(record);
        if (result.status === "applied") { summary.synced += 1; }
        if (result.status === "pending") { summary.synced += 1; summary.pending += 1; }
        if (result.status === "refused") { summary.refused.push(result.problem); }
      });
      summary.missing = answer.body.missing || [];
      if (answer.body.clock_wrong) { summary.clockMinutes = Math.round(answer.body.clock_skew_seconds / 60); }
      return update(changed);
    });
  }

  window.LoveMartOffline = {
    snapshot: snapshot,
    records: records,
    addRecord: addRecord,
    waitingAnywhere: waitingAnywhere,
    unreflected: unreflected,
    refresh: refresh,
    sync: sync,
  };
})();
