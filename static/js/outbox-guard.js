// Signing out with offline redemptions still waiting in this browser is refused with an explanation: the
// next person to sign in here might not be able to send them, and the goods have left the shop.
(function () {
  "use strict";
  var form = document.querySelector("[data-logout]");
  if (!form || !window.LoveMartOffline || !window.indexedDB) { return; }
  form.addEventListener("submit", function (event) {
    if (form.getAttribute("data-checked") === "1") { return; }
    event.preventDefault();
    var leave = function () { form.setAttribute("data-checked", "1"); form.submit(); };
    window.LoveMartOffline.waitingAnywhere().then(function (count) {
      if (!count) { leave(); return; }
      var note = document.querySelector("[data-logout-refused]") || document.createElement("p");
      note.className = "flash flash-error";
      note.setAttribute("role", "alert");
      note.setAttribute("data-logout-refused", "");
      note.textContent = form.getAttribute("data-text-unsynced").split("%(n)s").join(String(count));
      var main = document.querySelector("main") || document.body;
      main.insertBefore(note, main.firstChild);
    }, leave);
  });
})();
