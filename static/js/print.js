// Paper pages: the "打印" button opens the browser's print dialog. Nothing else runs here.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
