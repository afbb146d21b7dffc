// A <select data-picker> of households gets a search field above it: typing a name, a 户号 or a card
// number narrows the list to the households that match, and picks the only one left. Without script the
// page keeps the full dropdown and its own search form (a GET that narrows the list on the server), marked
// data-picker-fallback: with script that form is hidden, unless it already narrowed the list.
(function () {
  function words(option) {
    return (option.textContent + " " + (option.getAttribute("data-card") || "")).toLowerCase();
  }

  function attach(select) {
    var all = Array.prototype.slice.call(select.options);
    var blank = all.filter(function (option) { return option.value === ""; });
    var choices = all.filter(function (option) { return option.value !== ""; });
    var input = document.createElement("input");
    input.type = "search";
    input.id = select.id + "-search";
    input.className = "picker-search";
    input.autocomplete = "off";
    input.placeholder = select.getAttribute("data-picker-placeholder") || "";
    var label = document.createElement("label");
    label.htmlFor = input.id;
    label.textContent = select.getAttribute("data-picker") || "";
    var status = document.createElement("p");
    status.className = "hint picker-status";
    status.setAttribute("aria-live", "polite");
    select.parentNode.insertBefore(label, select);
    select.parentNode.insertBefore(input, select);
    select.parentNode.insertBefore(status, select);

    input.addEventListener("input", function () {
      var term = input.value.trim().toLowerCase();
      var chosen = select.value;
      var shown = term ? choices.filter(function (option) { return words(option).indexOf(term) !== -1; }) : choices;
      select.replaceChildren.apply(select, blank.concat(shown));
      if (shown.length === 1) {
        select.value = shown[0].value;
      } else {
        select.value = shown.some(function (option) { return option.value === chosen; }) ? chosen : "";
      }
      status.textContent = term && !shown.length ? select.getAttribute("data-picker-none") || "" : "";
    });
  }

  document.querySelectorAll("select[data-picker]").forEach(attach);
  document.querySelectorAll("form[data-picker-fallback]").forEach(function (form) {
    var field = form.querySelector("input[type=search]");
    if (field && !field.value) form.hidden = true;
  });
})();
