// A checkbox with data-select-all="NAME" ticks or clears every checkbox named NAME. Without script, the
// page's "全部勾选 / 全部不选" links do the same by reloading.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.matches || !box.matches("input[data-select-all]")) return;
  var name = box.getAttribute("data-select-all");
  document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (other) {
    other.checked = box.checked;
  });
});
