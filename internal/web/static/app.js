// The only script of the pages, which work without it: after a refused
// form, the summary of its errors takes the focus (RGAA 11.10).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("erreurs");
  if (summary) { summary.focus(); }
});
