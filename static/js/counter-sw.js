// The counter's service worker (served as /counter/sw.js, so its scope is /counter/). It keeps the offline
// counter page and the files it needs; when the network is down, any counter page opens as the offline
// counter. Everything else goes to the network as usual: balances, stock and sales are never taken from
// this cache (the page keeps its own snapshot in IndexedDB, see offline-store.js).
"use strict";

var CACHE = "lovemart-counter-v1";
var OFFLINE_PAGE = "/counter/offline";
var FILES = [
  OFFLINE_PAGE,
  "/static/css/app.css",
  "/static/css/print.css",
  "/static/js/offline-store.js",
  "/static/js/offline-counter.js",
  "/static/js/print.js",
  "/static/favicon.ico",
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(FILES);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; }).map(function (n) {
      return caches.delete(n);
    }));
  }).then(function () { return self.clients.claim(); }));
});

// Network first; the kept copy only when the network fails. A fresh copy of a kept file replaces it.
function fromNetwork(request, key) {
  return fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(key, copy); });
    }
    return response;
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (request.mode === "navigate" && url.pathname.indexOf("/counter/") === 0) {
    var fetched = url.pathname === OFFLINE_PAGE ? fromNetwork(request, OFFLINE_PAGE) : fetch(request);
    event.respondWith(fetched.catch(function () { return caches.match(OFFLINE_PAGE); }));
    return;
  }
  if (FILES.indexOf(url.pathname) >= 0) {
    event.respondWith(fromNetwork(request, url.pathname).catch(function () {
      return caches.match(url.pathname);
    }));
  }
});
