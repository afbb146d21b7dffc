// The villager's own check on /me: each of the household's lines of a notice, with its inclusion proof,
// must lead to the root of the notice's checkpoint (RFC 9162 §2.1.3.2), whose fingerprint the paper notice
// prints. Leaf = SHA-256(0x00 || the line's text), node = SHA-256(0x01 || left || right), computed with the
// browser's own SHA-256 (crypto.subtle, offered only on https or on this computer's own address).
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

  async function checkLine(line, size, root) {
    try {
      var leaf = await sha256(prefixed(0, new TextEncoder().encode(line.dataset.leaf)));
      var proof = line.dataset.proof.split(" ").filter(Boolean).map(decode);
      return same(await rootOf(Number(line.dataset.seq) - 1, size, leaf, proof), root);
    } catch (error) {
      return false;  // a proof that is not base64
    }
  }

  async function checkNotice(notice) {
    var root = decode(notice.dataset.root), size = Number(notice.dataset.size);
    var lines = notice.querySelectorAll("li[data-leaf]");
    if (!lines.length) return;
    var all = true;
    for (var i = 0; i < lines.length; i++) {
      var ok = await checkLine(lines[i], size, root);
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
    for (var i = 0; i < notices.length; i++) await checkNotice(notices[i]);
    section.dataset.checked = "done";
  })();
})();
