// The villager's own check on /me: each of the household's lines of a notice, with its inclusion proof,
// must lead to the root of the notice's checkpoint (RFC 9162 §2.1.3.2), whose fingerprint the paper notice
// prints. Leaf = SHA-256(0x00 || the line's text), node = SHA-256(0x01 || left || right), computed with the
// browser's own SHA-256 (crypto.subtle, offered only on https or on this computer's own address).
// The leaf text names its position (seq). The page sends each hash once (checkpoints.ProofTable): a proof
// is tokens, bottom-up, each either a base64 run of hashes new to the page or the number of a hash sent
// before, counted in page order. Each line's root is still recomputed from its own leaf and proof.
(function () {
  "use strict";
  var section = document.getElementById("notice-checks");
  if (!section) return;
  var subtle = window.crypto && window.crypto.subtle;
  if (!subtle || !window.isSecureContext) {
    section.querySelector(".check-insecure").hidden = false;
    section.dataset.checked = "insecure";
    return;
  }

  function decode(b64) {
    var text = atob(b64), out = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }

  function prefixed(prefix, left, right) {
    var out = new Uint8Array(1 + left.length + (right ? right.length : 0));
    out[0] = prefix;
    out.set(left, 1);
    if (right) out.set(right, 1 + left.length);
    return out;
  }

  async function sha256(data) {
    return new Uint8Array(await subtle.digest("SHA-256", data));
  }

  function same(a, b) {
    if (!a || a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  async function rootOf(index, size, leaf, proof) {
    if (index < 0 || index >= size) return null;
    var fn = index, sn = size - 1, digest = leaf;
    for (var i = 0; i < proof.length; i++) {
      if (sn === 0 || proof[i].length !== 32) return null;
      if (fn % 2 === 1 || fn === sn) {
        digest = await sha256(prefixed(1, proof[i], digest));
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        digest = await sha256(prefixed(1, digest, proof[i]));
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    return sn === 0 ? digest : null;
  }

  // Every line's proof as a list of hashes, read in page order (a number refers to an earlier hash);
  // null for a proof that cannot be read.
  function readProofs(lines) {
    var sent = [], proofs = new Map();
    lines.forEach(function (line) {
      var proof = [];
      try {
        line.dataset.proof.split(" ").filter(Boolean).forEach(function (token) {
          if (/^\d{1,9}$/.test(token)) {
            if (!sent[token]) throw new RangeError("no hash " + token);
            proof.push(sent[token]);
            return;
          }
          var run = decode(token);
          if (!run.length || run.length % 32) throw new RangeError("not whole hashes");
          for (var at = 0; at < run.length; at += 32) {
            sent.push(run.subarray(at, at + 32));
            proof.push(sent[sent.length - 1]);
          }
        });
        proofs.set(line, proof);
      } catch (error) {
        proofs.set(line, null);  // not base64, or a number of no hash
      }
    });
    return proofs;
  }

  async function checkLine(line, proof, size, root) {
    if (!proof) return false;
    try {
      var text = line.dataset.leaf, seq = JSON.parse(text).seq;
      if (!Number.isInteger(seq)) return false;
      var leaf = await sha256(prefixed(0, new TextEncoder().encode(text)));
      return same(await rootOf(seq - 1, size, leaf, proof), root);
    } catch (error) {
      return false;  // a leaf that is not the JSON of an entry
    }
  }

  async function checkNotice(notice, proofs) {
    var root = decode(notice.dataset.root), size = Number(notice.dataset.size);
    var lines = notice.querySelectorAll("li[data-leaf]");
    if (!lines.length) return;
    var all = true;
    for (var i = 0; i < lines.length; i++) {
      var ok = await checkLine(lines[i], proofs.get(lines[i]), size, root);
      lines[i].classList.add(ok ? "ok" : "bad");
      lines[i].querySelector(".verdict").textContent = ok ? "✓" : "✗ " + section.dataset.badLine;
      lines[i].querySelector(".verdict").title = ok ? section.dataset.okLine : section.dataset.badLine;
      all = all && ok;
    }
    notice.querySelector(all ? ".check-ok" : ".check-bad").hidden = false;
    notice.dataset.checked = all ? "ok" : "bad";
  }

  (async function () {
    var notices = section.querySelectorAll(".notice-check");
    var proofs = readProofs(section.querySelectorAll("li[data-leaf]"));
    for (var i = 0; i < notices.length; i++) await checkNotice(notices[i], proofs);
    section.dataset.checked = "done";
  })();
})();
