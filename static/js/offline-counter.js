// The offline counter page (templates/offline/counter.html), and on the ordinary counter pages the quiet
// part: register the service worker, keep the snapshot fresh and send what waits.
//
// Offline, a redemption is checked against the device's snapshot (less what it redeemed since), written to
// the outbox (offline-store.js) before its receipt shows, and synced when the network returns: on load,
// on the browser's "online" event, every 30 s and from the button. Texts come from data-text-* attributes.
(function () {
  "use strict";

  var store = window.LoveMartOffline;
  var root = document.querySelector("[data-offline-counter]") || document.querySelector("[data-offline-sync]");
  if (!store || !root || !window.indexedDB) { return; }

  var village = root.getAttribute("data-village");
  var snapshotUrl = root.getAttribute("data-snapshot-url");
  var syncUrl = root.getAttribute("data-sync-url");
  var page = root.hasAttribute("data-offline-counter");
  var text = function (name, values) {
    var s = root.getAttribute("data-text-" + name) || "";
    Object.keys(values || {}).forEach(function (k) { s = s.split("%(" + k + ")s").join(String(values[k])); });
    return s;
  };
  var $ = function (selector) { return root.querySelector(selector); };
  var state = { stored: null, records: [], online: navigator.onLine, customer: null, message: "" };

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(root.getAttribute("data-sw-url") || "/counter/sw.js", { scope: "/counter/" })
      .catch(function () { /* the page still works online */ });
  }
  if (navigator.storage && navigator.storage.persist) { navigator.storage.persist(); }

  function load() {
    return Promise.all([store.snapshot(village), store.records(village)]).then(function (both) {
      state.stored = both[0] || null;
      state.records = both[1];
      render();
    });
  }

  function age(ms) {
    var minutes = Math.max(0, Math.round(ms / 60000));
    if (minutes < 60) { return text("minutes", { n: minutes }); }
    if (minutes < 48 * 60) { return text("hours", { n: Math.round(minutes / 60) }); }
    return text("days", { n: Math.round(minutes / 1440) });
  }

  function waitingCount() {
    return state.records.filter(function (r) { return r.status === "waiting"; }).length;
  }

  function renderBanner() {
    var banner = $("[data-banner]");
    if (!banner) { return; }
    var parts = [text(state.online ? "online" : "offline")];
    if (state.stored) {
      parts.push(text("age", { age: age(Date.now() - state.stored.fetched_at) }));
    } else if (page) {
      parts.push(text("no-snapshot"));
    }
    parts.push(text("waiting", { n: waitingCount() }));
    banner.textContent = parts.join(" · ");
    banner.classList.toggle("offline", !state.online);
    banner.hidden = !page && waitingCount() === 0 && state.online;
  }

  function device() { return state.stored && state.stored.data.device; }

  function render() {
    renderBanner();
    if (!page) { return; }
    var note = $("[data-note]");
    var allowed = device() && device().enabled;
    note.hidden = !!allowed || !state.stored;
    note.textContent = text("not-enabled");
    $("[data-confirm]").disabled = !allowed;
    renderOutbox();
    if (state.customer) { renderCustomer(); }
  }

  function renderOutbox() {
    var list = $("[data-outbox]");
    list.textContent = "";
    state.records.slice().reverse().forEach(function (r) {
      var item = document.createElement("li");
      var status = r.status === "applied" ? text("status-applied", { receipt: r.receipt_no })
        : text("status-" + r.status);
      item.textContent = r.provisional_no + " · " + r.household + " · " + text("points", { n: r.total }) +
        " · " + status + (r.problem ? "：" + r.problem : "");
      item.setAttribute("data-status", r.status);
      list.appendChild(item);
    });
  }

  // ---- what a card may still spend here, from the snapshot less what this device redeemed since ----
  function cardOf(number) {
    var cards = state.stored ? state.stored.data.cards : [];
    for (var i = 0; i < cards.length; i += 1) { if (cards[i].number === number) { return cards[i]; } }
    return null;
  }

  function spentSince(number, onlyThisSnapshot) {
    var taken = state.stored.data.taken_at;
    return state.records.reduce(function (sum, r) {
      if (r.card !== number) { return sum; }
      if (onlyThisSnapshot) { return r.snapshot_taken_at === taken ? sum + r.total : sum; }
      return store.unreflected(r, state.stored) ? sum + r.total : sum;
    }, 0);
  }

  function stockLeft(product) {
    var taken = 0;
    state.records.forEach(function (r) {
      if (!store.unreflected(r, state.stored)) { return; }
      r.lines.forEach(function (line) { if (line[0] === product.id) { taken += line[1]; } });
    });
    return product.stock - taken;
  }

  function showCustomer(number) {
    var problem = $("[data-cart-problem]");
    problem.hidden = true;
    var card = state.stored && cardOf(number);
    if (!card) {
      state.customer = null;
      $("[data-customer]").hidden = true;
      showNote(text("unknown-card"));
      return;
    }
    showNote("");
    state.customer = { card: card, quantities: {} };
    $("[data-receipt]").hidden = true;
    renderCustomer();
  }

  function showNote(message) {
    var note = $("[data-note]");
    note.textContent = message;
    note.hidden = !message;
  }

  function renderCustomer() {
    var c = state.customer;
    var spendable = c.card.spendable - spentSince(c.card.number, false);
    var allowance = Math.max(0, state.stored.data.cap_points - spentSince(c.card.number, true));
    $("[data-household]").textContent = c.card.household + " · " + c.card.number;
    $("[data-spendable]").textContent = text("points", { n: spendable });
    $("[data-allowance]").textContent = text("points", { n: Math.min(allowance, Math.max(spendable, 0)) });
    var list = $("[data-products]");
    if (!list.childElementCount) {
      state.stored.data.products.forEach(function (p) {
        var item = document.createElement("li");
        var label = document.createElement("label");
        var input = document.createElement("input");
        input.type = "number";
        input.min = "0";
        input.max = "999";
        input.step = "1";
        input.inputMode = "numeric";
        input.value = "0";
        input.setAttribute("data-product", String(p.id));
        input.addEventListener("input", function () { renderTotal(); });
        label.textContent = p.name + "（" + text("points", { n: p.price }) + "/" + p.unit + "） ";
        var left = document.createElement("span");
        left.className = "muted";
        left.setAttribute("data-left", String(p.id));
        item.appendChild(label);
        label.appendChild(input);
        item.appendChild(left);
        list.appendChild(item);
      });
    }
    state.stored.data.products.forEach(function (p) {
      var left = list.querySelector('[data-left="' + p.id + '"]');
      if (left) { left.textContent = " ×" + stockLeft(p); }
    });
    $("[data-customer]").hidden = false;
    renderTotal();
  }

  function cart() {
    var lines = [];
    var bad = false;
    $("[data-products]").querySelectorAll("input[data-product]").forEach(function (input) {
      var raw = input.value.trim();
      if (raw === "" || raw === "0") { return; }
      if (!/^\d{1,3}$/.test(raw)) { bad = true; return; }
      lines.push([Number(input.getAttribute("data-product")), Number(raw)]);
    });
    return bad ? null : lines;
  }

  function productById(id) {
    var products = state.stored.data.products;
    for (var i = 0; i < products.length; i += 1) { if (products[i].id === id) { return products[i]; } }
    return null;
  }

  function renderTotal() {
    var lines = cart() || [];
    var total = lines.reduce(function (sum, l) { return sum + productById(l[0]).price * l[1]; }, 0);
    $("[data-total]").textContent = text("points", { n: total });
    return total;
  }

  function problemOf(lines, total) {
    var c = state.customer;
    if (lines === null) { return text("bad-quantity"); }
    if (!lines.length) { return text("empty-cart"); }
    for (var i = 0; i < lines.length; i += 1) {
      var product = productById(lines[i][0]);
      if (lines[i][1] > stockLeft(product)) {
        return text("no-stock", { product: product.name, left: stockLeft(product) });
      }
    }
    var spendable = c.card.spendable - spentSince(c.card.number, false);
    if (total > spendable) { return text("too-few", { needed: total, available: spendable }); }
    var left = state.stored.data.cap_points - spentSince(c.card.number, true);
    if (total > left) { return text("over-cap", { left: Math.max(0, left) }); }
    return "";
  }

  function confirm() {
    var lines = cart();
    var total = renderTotal();
    var problem = problemOf(lines, total);
    var box = $("[data-cart-problem]");
    box.textContent = problem;
    box.hidden = !problem;
    if (problem) { return; }
    var button = $("[data-confirm]");
    button.disabled = true;
    var c = state.customer;
    var record = {
      key: "offline-" + (self.crypto && crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)),
      card: c.card.number,
      household: c.card.household,
      lines: lines,
      names: lines.map(function (l) { var p = productById(l[0]); return [p.name, l[1], p.unit, p.price * l[1]]; }),
      total: total,
      balance_after: c.card.spendable - spentSince(c.card.number, false) - total,
      client_at: new Date().toISOString(),
      snapshot_taken_at: state.stored.data.taken_at,
      snapshot_age: (Date.now() - state.stored.fetched_at) / 1000,
      provisional_prefix: "离线-" + device().id + "-",
    };
    store.addRecord(village, record).then(function (saved) {
      return load().then(function () { showReceipt(saved); });
    }).finally(function () { button.disabled = false; });
  }

  function showReceipt(r) {
    $("[data-customer]").hidden = true;
    state.customer = null;
    $("[data-receipt-no]").textContent = r.provisional_no;
    $("[data-receipt-household]").textContent = r.household + " · " + r.card;
    var list = $("[data-receipt-lines]");
    list.textContent = "";
    r.names.forEach(function (n) {
      var item = document.createElement("li");
      item.textContent = n[0] + " × " + n[1] + n[2] + " · " + text("points", { n: n[3] });
      list.appendChild(item);
    });
    $("[data-receipt-total]").textContent = text("points", { n: r.total });
    $("[data-receipt-balance]").textContent = text("points", { n: r.balance_after });
    $("[data-receipt-time]").textContent = new Date(r.client_at).toLocaleString();
    $("[data-receipt]").hidden = false;
    $("[data-products]").textContent = "";
  }

  // ---- sync ----
  var syncing = false;
  function syncNow() {
    if (syncing) { return Promise.resolve(); }
    syncing = true;
    var messageBox = $("[data-sync-message]");
    return store.sync(village, snapshotUrl, syncUrl).then(function (summary) {
      state.online = true;
      if (summary && !summary.busy) { say(messageBox, summary); }
    }, function (error) {
      state.online = false;
      if (messageBox) { messageBox.textContent = text(error && error.kind === "sign-in" ? "sign-in" : "sync-failed"); }
      if (error && error.kind === "sign-in") { state.online = true; }
    }).then(load).finally(function () { syncing = false; });
  }

  function say(box, summary) {
    if (!box) { return; }
    var parts = [];
    if (summary.notAllowed) { parts.push(text("not-enabled")); }
    if (summary.synced) { parts.push(text("synced", { n: summary.synced })); }
    if (summary.pending) { parts.push(text("pending", { n: summary.pending })); }
    if (summary.refused.length) { parts.push(text("refused", { n: summary.refused.length, why: summary.refused[0] })); }
    if (summary.missing.length) { parts.push(text("missing", { numbers: summary.missing.join("、") })); }
    if (summary.clockMinutes) { parts.push(text("clock", { minutes: summary.clockMinutes })); }
    box.textContent = parts.join(" ");
  }

  window.addEventListener("online", function () { state.online = true; syncNow(); });
  window.addEventListener("offline", function () { state.online = false; renderBanner(); });
  setInterval(function () { syncNow(); }, 30000);
  setInterval(renderBanner, 60000);

  if (page) {
    $("[data-card-form]").addEventListener("submit", function (event) {
      event.preventDefault();
      showCustomer($("[data-card-input]").value.trim().toUpperCase());
    });
    $("[data-confirm]").addEventListener("click", confirm);
    $("[data-sync]").addEventListener("click", syncNow);
    $("[data-next]").addEventListener("click", function () {
      $("[data-receipt]").hidden = true;
      var input = $("[data-card-input]");
      input.value = "";
      input.focus();
    });
  }
  load().then(syncNow);
})();
