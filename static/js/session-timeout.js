/*
 * Session timeout warning (issue 8; OWASP ASVS 4.0.3 §3.3.1: idle sessions end, and the user is told before).
 *
 * The server ends a session after SESSION_COOKIE_AGE idle seconds (every request renews it). This counts down the
 * same time in the page, shows a warning a couple of minutes before the end with a "Stay signed in" button that
 * posts to the keep-alive URL, and goes to the sign-in page when the time is up. Tabs share the time of the last
 * request through localStorage, so working in one tab keeps the others from warning. No inline script: the
 * Content-Security-Policy allows only files from this site.
 */
(function () {
  "use strict";
  const script = document.currentScript;
  if (!script) return;
  const timeout = Number(script.dataset.timeoutSeconds) * 1000;
  if (!timeout) return;
  const warnBefore = Number(script.dataset.warnSeconds || Math.min(120, Math.floor(timeout / 2000))) * 1000;
  const keepAliveUrl = script.dataset.keepAliveUrl;
  const loginUrl = script.dataset.loginUrl;
  const storageKey = "edc:last-server-contact";
  let lastContact = Date.now();
  let warning = null;

  function shared() {
    try { return Number(window.localStorage.getItem(storageKey)) || 0; } catch (e) { return 0; }
  }

  function renewed() {
    lastContact = Date.now();
    try { window.localStorage.setItem(storageKey, String(lastContact)); } catch (e) { /* private mode */ }
    hide();
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function build() {
    const box = document.createElement("div");
    box.className = "alert alert-warning shadow position-fixed bottom-0 end-0 m-3 session-timeout-warning";
    box.setAttribute("role", "alertdialog");
    box.setAttribute("aria-live", "assertive");
    box.setAttribute("aria-labelledby", "session-timeout-text");
    box.id = "session-timeout-warning";
    const text = document.createElement("p");
    text.id = "session-timeout-text";
    text.className = "mb-2";
    text.append("You will be signed out in ");
    const clock = document.createElement("strong");
    clock.className = "session-timeout-clock";
    text.append(clock, " because of inactivity. Unsaved changes on this page would be lost.");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-primary btn-sm";
    button.textContent = "Stay signed in";
    button.addEventListener("click", stayIn);
    box.append(text, button);
    return box;
  }

  function show(remaining) {
    if (!warning) {
      warning = build();
      document.body.append(warning);
      warning.querySelector("button").focus();
    }
    const seconds = Math.max(0, Math.ceil(remaining / 1000));
    warning.querySelector(".session-timeout-clock").textContent =
      Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }

  function hide() {
    if (warning) {
      warning.remove();
      warning = null;
    }
  }

  function signedOut() {
    window.location.assign(loginUrl + "?next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }

  function stayIn() {
    fetch(keepAliveUrl, {
      method: "POST",
      credentials: "same-origin",
      redirect: "manual",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "XMLHttpRequest" },
    }).then(function (response) {
      if (response.status === 204) renewed(); else signedOut();
    }).catch(signedOut);
  }

  function tick() {
    const remaining = Math.max(lastContact, shared()) + timeout - Date.now();
    if (remaining <= 0) {
      signedOut();
      return;
    }
    if (remaining <= warnBefore) show(remaining); else hide();
  }

  // Requests made by htmx renew the server's idle timer too.
  document.body.addEventListener("htmx:afterRequest", renewed);
  renewed();
  window.setInterval(tick, 1000);
})();
