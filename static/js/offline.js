/* Wuyi: the volunteer's today list on a poor network (volunteers/offline.py).
 *
 * Without signal, a tap on a form (delivered, round done, check recorded, check-in) is kept in
 * this phone's localStorage with a key drawn now, and the page says what is waiting. When the
 * network returns the taps are sent again, each with its key, which the server keeps: a tap is
 * applied once however often it is sent. A tap the server refuses (the task was given to
 * someone else) is dropped with the server's message shown. The service worker keeps the
 * user's own task pages for reading offline; logging out empties both.
 */
(function () {
  "use strict";
  const body = document.body;
  const user = body.dataset.offlineUser;
  if (!user) {
    // Nobody signed in here: no page of anyone's stays in this browser.
    if (window.caches) caches.keys().then((keys) => keys.forEach((k) => caches.delete(k)));
    return;
  }
  const STORE = "wuyi-offline-taps";
  const REFUSED = "wuyi-offline-refused";
  const box0 = document.getElementById("offline-queue");
  const text = box0 ? box0.dataset : {offline: "", waiting: "", photo: ""};

  function load(name) {
    try { return JSON.parse(localStorage.getItem(name) || "[]"); } catch (e) { return []; }
  }
  function save(name, items) { localStorage.setItem(name, JSON.stringify(items)); }
  function mine(items) { return items.filter((t) => t.user === user); }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function show() {
    const box = document.getElementById("offline-queue");
    if (!box) return;
    const waiting = mine(load(STORE));
    const refused = mine(load(REFUSED));
    box.replaceChildren();
    if (!navigator.onLine) {
      const p = document.createElement("p");
      p.className = "offline-state";
      p.textContent = text.offline;
      box.appendChild(p);
    }
    if (waiting.length) {
      const p = document.createElement("p");
      p.textContent = text.waiting + ": " + waiting.length;
      const ul = document.createElement("ul");
      waiting.forEach((t) => {
        const li = document.createElement("li");
        li.textContent = t.label;
        ul.appendChild(li);
      });
      box.append(p, ul);
    }
    refused.forEach((t) => {
      const p = document.createElement("p");
      p.className = "msg-error";
      p.textContent = t.label + ": " + t.message;
      box.appendChild(p);
    });
    box.hidden = !box.childElementCount;
  }

  // form.action and form.method are shadowed by a control of that name (a button
  // name="action", a select name="method"): read the attributes.
  function actionOf(form) {
    return new URL(form.getAttribute("action") || location.href, location.href).href;
  }
  function methodOf(form) { return (form.getAttribute("method") || "get").toLowerCase(); }

  function labelOf(form, submitter) {
    const own = form.dataset.offlineTap || "";
    const row = form.closest("li, section, .card");
    const title = row ? (row.querySelector("strong, h1, h2") || {}).textContent || "" : "";
    const button = submitter ? submitter.textContent.trim() : "";
    return [own || title.trim(), button].filter(Boolean).join(" · ") || actionOf(form);
  }

  function queue(form, submitter) {
    const data = new FormData(form, submitter || undefined);
    for (const [, value] of data.entries()) {
      if (value instanceof File && value.size) { alert(text.photo); return false; }
    }
    const params = new URLSearchParams();
    for (const [name, value] of data.entries()) {
      if (!(value instanceof File)) params.append(name, value);
    }
    const items = load(STORE);
    items.push({
      key: newKey(), user: user, url: actionOf(form), body: params.toString(),
      label: labelOf(form, submitter), at: Date.now(),
    });
    save(STORE, items);
    const row = form.closest("li.task");
    if (row) row.classList.add("queued");
    show();
    return true;
  }

  let sending = false;
  async function flush() {
    if (sending || !navigator.onLine) return;
    sending = true;
    try {
      for (const tap of mine(load(STORE))) {
        let answer;
        try {
          const response = await fetch(tap.url, {
            method: "POST", body: tap.body, credentials: "same-origin",
            headers: {"Content-Type": "application/x-www-form-urlencoded", "X-Offline-Key": tap.key},
          });
          answer = await response.json();
        } catch (e) {
          break; // still no network: try again later, in the same order
        }
        if (answer.retry) break;
        save(STORE, load(STORE).filter((t) => t.key !== tap.key));
        if (!answer.ok) {
          const refused = load(REFUSED);
          refused.push({user: user, label: tap.label, message: answer.message});
          save(REFUSED, refused);
        }
        show();
      }
    } finally {
      sending = false;
    }
  }

  // Before htmx and before the browser: a form posted without signal goes to the queue.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (navigator.onLine || methodOf(form) !== "post") return;
    if (form.matches("[data-no-offline]")) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    queue(form, event.submitter);
  }, true);

  document.addEventListener("click", (event) => {
    const clear = event.target.closest("#offline-queue .msg-error");
    if (clear) { save(REFUSED, load(REFUSED).filter((t) => t.user !== user)); show(); }
  });

  // Logging out: this phone keeps nothing of the user's (pages, queued taps).
  const logout = document.querySelector("form[data-logout]");
  if (logout) {
    logout.addEventListener("submit", () => {
      localStorage.removeItem(STORE);
      localStorage.removeItem(REFUSED);
      if (window.caches) caches.keys().then((keys) => keys.forEach((k) => caches.delete(k)));
      if (navigator.serviceWorker && navigator.serviceWorker.controller) {
        navigator.serviceWorker.controller.postMessage("clear");
      }
    });
  }

  window.addEventListener("online", () => { show(); flush(); });
  window.addEventListener("offline", show);
  if ("serviceWorker" in navigator && body.dataset.offlineWorker) {
    navigator.serviceWorker.register(body.dataset.offlineWorker, {scope: "/"}).catch(() => {});
  }
  show();
  flush();
  setInterval(flush, 30000);
})();
