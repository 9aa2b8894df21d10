/*
 * The raise-query form's widgets come unstyled from Django; give them Bootstrap classes. A file, not an inline
 * script: the Content-Security-Policy allows only scripts from this site.
 */
document.querySelectorAll("#raise-query select").forEach(function (e) { e.classList.add("form-select", "form-select-sm"); });
document.querySelectorAll("#raise-query textarea").forEach(function (e) { e.classList.add("form-control", "form-control-sm"); });
