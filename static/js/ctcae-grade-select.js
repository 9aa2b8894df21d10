/*
 * The adverse-event grade follows the chosen CTCAE term (patients/crfs/safety_forms.py, CtcaeGradeSelect): grades
 * that do not exist for the term are hidden and disabled (the server refuses them too), and the chosen grade's CTCAE
 * description is shown under the select. A file, not an inline script: the Content-Security-Policy allows only
 * scripts from this site. Safe to load more than once (each grade select is wired once).
 */
(function () {
  "use strict";
  document.querySelectorAll("[data-ctcae-grade]:not([data-ctcae-ready])").forEach(function (text) {
    text.dataset.ctcaeReady = "1";
    const grade = document.getElementById(text.dataset.ctcaeGrade);
    const term = document.getElementById(text.dataset.ctcaeTerm);
    const data = document.getElementById(text.dataset.ctcaeCatalogue);
    const other = document.getElementById("div_id_other_specify");
    if (!grade || !term || !data) return;
    const catalogue = JSON.parse(data.textContent);
    function update() {
      const entry = catalogue[term.value];
      const grades = entry ? entry.grades : {};
      for (const option of grade.options) {
        if (!option.value) continue;
        const available = !entry || option.value in grades;
        option.hidden = !available;
        option.disabled = !available;
      }
      if (entry && grade.value && !(grade.value in grades)) grade.value = "";
      text.textContent = entry && grade.value ? "Grade " + grade.value + ": " + grades[grade.value] : "";
      if (other) other.hidden = !(entry && entry.other) && !other.querySelector("input").value;
    }
    term.addEventListener("change", update);
    grade.addEventListener("change", update);
    update();
  });
})();
