// The counter (收银台). Progressive enhancement of server-rendered forms that work without this file:
//  - the scan field keeps the focus, so a USB/Bluetooth scanner can type a card's URL or number and Enter
//    at any time; a scanned product barcode adds that product to the cart instead;
//  - camera scanning with jsQR (loaded on first use only, from static/vendor/jsqr/);
//  - tiles add to the cart, a cart list with −/+ and the running total against the balance;
//  - search filters the goods as one types;
//  - one submit per confirm: a second click while the first is on its way does nothing (the server is
//    idempotent anyway: the form carries one key for this confirm);
//  - receipts: the 58 mm paper is made exactly as long as the receipt before printing;
//  - a counter page that the back/forward cache restores is loaded again (its balance and stock are old;
//    the server also sends Cache-Control: no-store, which keeps most pages out of that cache).
// No inline script or event handler attributes anywhere (the Content-Security-Policy forbids them): texts
// come from data-* attributes rendered by the templates.
(function () {
  "use strict";

  var root = document.querySelector("[data-counter]");
  var scanForm = document.querySelector("[data-scan-form]");
  var scanInput = document.querySelector("[data-scan]");
  var cartForm = document.querySelector("[data-cart-form]");
  var text = function (name) { return (root && root.getAttribute("data-text-" + name)) || ""; };
  var coarse = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;

  // ---- old pages: restored from the back/forward cache → ask the server for the page as it is now ----
  // The GET address of this page (a confirm's answer names the card page), so no form is sent again.
  if (root && root.hasAttribute("data-fresh-url")) {
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) { window.location.replace(root.getAttribute("data-fresh-url")); }
    });
  }

  // ---- focus: the scan field is where keystrokes go unless the cashier is typing elsewhere ----
  function isTyping(element) {
    if (!element) { return false; }
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  function focusScan() {
    if (scanInput && !coarse) { scanInput.focus({ preventScroll: true }); }
  }

  if (scanInput) {
    if (!coarse) { scanInput.focus(); scanInput.select(); }
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey || isTyping(document.activeElement)) { return; }
      // Printable keys only, and not Space: Space on a focused button presses it (keyboard users).
      if (event.key && event.key.length === 1 && event.key !== " ") { focusScan(); }
    });
  }

  // ---- goods and cart ----
  var goods = cartForm ? Array.prototype.slice.call(cartForm.querySelectorAll("[data-good]")) : [];
  var byId = {};
  goods.forEach(function (good) { byId[good.getAttribute("data-id")] = good; });

  function qtyInput(good) { return good.querySelector("[data-qty]"); }
  // Only a whole number counts: 2.5 is not 2 and -1 is not "none"; the server names what is wrong, beside
  // the product, when the cart is sent.
  function quantity(good) {
    var typed = qtyInput(good).value.trim();
    return /^[0-9]+$/.test(typed) ? parseInt(typed, 10) : 0;
  }
  function quantityTaken(good) {
    var input = qtyInput(good);
    var typed = input.value.trim();
    var whole = /^[0-9]*$/.test(typed) && !(input.validity && input.validity.badInput);
    return whole && quantity(good) <= stock(good);
  }
  function stock(good) { return parseInt(good.getAttribute("data-stock"), 10) || 0; }
  function price(good) { return parseInt(good.getAttribute("data-price"), 10) || 0; }

  function setQuantity(good, value) {
    value = Math.max(0, Math.min(value, stock(good), 999));
    qtyInput(good).value = value > 0 ? String(value) : "";
    render();
  }

  function button(label, aria, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.setAttribute("aria-label", aria);
    b.addEventListener("click", function () { onClick(); focusScan(); });
    return b;
  }

  function render() {
    if (!cartForm) { return; }
    var list = cartForm.querySelector("[data-cart-lines]");
    var total = 0;
    var lines = 0;
    list.textContent = "";
    goods.forEach(function (good) {
      var q = quantity(good);
      good.classList.toggle("in-cart", q > 0);
      if (quantityTaken(good)) { qtyInput(good).removeAttribute("aria-invalid"); }
      else { qtyInput(good).setAttribute("aria-invalid", "true"); }
      if (q <= 0) { return; }
      lines += 1;
      var points = q * price(good);
      total += points;
      var name = good.getAttribute("data-name");
      var li = document.createElement("li");
      li.className = "cart-line";
      var label = document.createElement("span");
      label.className = "cart-line-name";
      label.textContent = name;
      var count = document.createElement("span");
      count.className = "cart-line-qty";
      count.textContent = q + good.getAttribute("data-unit");
      var sum = document.createElement("span");
      sum.className = "cart-line-points";
      sum.textContent = points + " " + text("points");
      li.appendChild(label);
      li.appendChild(button("−", text("decrease") + " " + name, function () { setQuantity(good, quantity(good) - 1); }));
      li.appendChild(count);
      li.appendChild(button("+", text("increase") + " " + name, function () { setQuantity(good, quantity(good) + 1); }));
      li.appendChild(sum);
      list.appendChild(li);
    });
    var balance = parseInt(cartForm.getAttribute("data-balance"), 10) || 0;
    cartForm.querySelector("[data-cart-total]").textContent = String(total);
    cartForm.querySelector("[data-cart-after]").textContent = String(balance - total);
    cartForm.querySelector("[data-cart-hint]").hidden = lines > 0;
    var over = total > balance;
    cartForm.querySelector("[data-cart-over]").hidden = !over;
    var confirm = cartForm.querySelector("[data-confirm]");
    if (!confirm.hasAttribute("data-blocked")) { confirm.disabled = lines === 0 || over; }
  }

  if (cartForm) {
    var confirmButton = cartForm.querySelector("[data-confirm]");
    if (confirmButton.disabled) { confirmButton.setAttribute("data-blocked", ""); }  // a dead card: stays off
    goods.forEach(function (good) {
      good.querySelector("[data-pick]").addEventListener("click", function () {
        setQuantity(good, quantity(good) + 1);
        focusScan();
      });
      qtyInput(good).addEventListener("input", render);
    });

    cartForm.addEventListener("submit", function (event) {
      if (cartForm.hasAttribute("data-busy")) { event.preventDefault(); return; }
      cartForm.setAttribute("data-busy", "");
      confirmButton.setAttribute("aria-disabled", "true");
      confirmButton.setAttribute("data-label", confirmButton.textContent);
      confirmButton.textContent = text("busy");
    });
    // Back/forward cache: a counter page restored is loaded again (above); any other page restored after its
    // confirm must accept a click again (same key: safe).
    window.addEventListener("pageshow", function () {
      cartForm.removeAttribute("data-busy");
      confirmButton.removeAttribute("aria-disabled");
      if (confirmButton.hasAttribute("data-label")) { confirmButton.textContent = confirmButton.getAttribute("data-label"); }
    });
    render();
  }

  // ---- search: filter the tiles as one types (the form still works as a server-side search) ----
  var search = document.querySelector("[data-goods-search]");
  if (search && cartForm) {
    var zones = Array.prototype.slice.call(cartForm.querySelectorAll("[data-zone]"));
    var none = cartForm.querySelector("[data-goods-none]");
    var filter = function () {
      var term = search.value.trim().toLowerCase();
      var shown = 0;
      goods.forEach(function (good) {
        var match = !term || good.getAttribute("data-search").indexOf(term) !== -1;
        good.hidden = !match;
        if (match) { shown += 1; }
      });
      zones.forEach(function (zone) { zone.hidden = !zone.querySelector("[data-good]:not([hidden])"); });
      if (none) { none.hidden = shown > 0; }
    };
    search.addEventListener("input", filter);
    document.querySelector("[data-goods-search-form]").addEventListener("submit", function (event) {
      event.preventDefault();
      filter();
    });
  }

  // ---- scan: a product barcode goes to the cart; anything else is a card for the server ----
  if (scanForm && scanInput) {
    scanForm.addEventListener("submit", function (event) {
      var value = scanInput.value.trim();
      if (!value) { event.preventDefault(); return; }
      var product = goods.filter(function (good) { return good.getAttribute("data-barcode") === value; })[0];
      if (product) {
        event.preventDefault();
        setQuantity(product, quantity(product) + 1);
        scanInput.value = "";
      }
    });
  }

  // ---- camera: getUserMedia + jsQR on a canvas; hidden where the browser cannot do it ----
  var cameraButton = document.querySelector("[data-camera]");
  var view = document.querySelector("[data-camera-view]");
  if (cameraButton && view && scanForm && navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.isSecureContext) {
    cameraButton.hidden = false;
    var video = view.querySelector("[data-camera-video]");
    var canvas = view.querySelector("[data-camera-canvas]");
    var status = view.querySelector("[data-camera-status]");
    var stream = null;
    var lastScan = 0;

    var stop = function () {
      if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
      stream = null;
      video.srcObject = null;
      view.hidden = true;
      focusScan();
    };

    var loadJsQR = function () {
      if (window.jsQR) { return Promise.resolve(window.jsQR); }
      return new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = cameraButton.getAttribute("data-jsqr");
        script.onload = function () { resolve(window.jsQR); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    };

    var tick = function (decode) {
      if (!stream) { return; }
      var now = Date.now();
      if (video.readyState >= 2 && now - lastScan > 120) {  // a few decodes a second are plenty
        lastScan = now;
        var scale = Math.min(1, 640 / (video.videoWidth || 640));
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        var context = canvas.getContext("2d", { willReadFrequently: true });
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var code = decode(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        if (code && code.data) {
          status.textContent = text("camera-found");
          scanInput.value = code.data;
          stop();
          if (scanForm.requestSubmit) { scanForm.requestSubmit(); } else { scanForm.submit(); }
          return;
        }
      }
      window.requestAnimationFrame(function () { tick(decode); });
    };

    cameraButton.addEventListener("click", function () {
      view.hidden = false;
      Promise.all([
        loadJsQR(),
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }),
      ]).then(function (results) {
        stream = results[1];
        video.srcObject = stream;
        return video.play().then(function () { tick(results[0]); });
      }).catch(function () {
        status.textContent = text("camera-error");
        if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
      });
    });
    view.querySelector("[data-camera-stop]").addEventListener("click", stop);
    window.addEventListener("pagehide", stop);
  }

  // ---- receipts: a 58 mm page exactly as long as the receipt (thermal printers feed what they are given) ----
  var receipt = document.querySelector(".receipt-58[data-receipt]");
  if (receipt) {
    var fitPaper = function () {
      var sheet = Array.prototype.filter.call(document.styleSheets, function (s) {
        return s.href && s.href.indexOf("/css/print.css") !== -1;
      })[0];
      if (!sheet) { return; }
      var millimetres = Math.ceil(receipt.getBoundingClientRect().height * 25.4 / 96) + 8;
      try {
        sheet.insertRule("@page receipt-58 { size: 58mm " + millimetres + "mm; margin: 0; }", sheet.cssRules.length);
      } catch (error) { /* keep the stylesheet's fixed length */ }
    };
    window.addEventListener("beforeprint", fitPaper);
    fitPaper();
  }
})();
