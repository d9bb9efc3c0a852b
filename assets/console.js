// Browser-side console actions, loaded as a file (the CSP allows no inline script).
// Values an agent types (bot tokens, webhook URLs) go straight to the REST API with the session
// cookie, never through the Reflex websocket or its state; popups hand their result back here.
(function () {
  "use strict";

  function page(projectId, query) {
    const search = new URLSearchParams(query).toString();
    window.location.assign("/projects/" + encodeURIComponent(projectId) + "/integrations?" + search);
  }

  async function connect(tenantId, projectId, type, fields) {
    const url = "/v1/tenants/" + encodeURIComponent(tenantId) + "/projects/" +
      encodeURIComponent(projectId) + "/integrations/" + encodeURIComponent(type);
    let reason = "unavailable";
    let replace = "";
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(fields),
      });
      if (response.ok) {
        const body = await response.json().catch(() => ({}));
        const done = () => page(projectId, { status: "success", integration: type });
        if (body.reveal && Object.keys(body.reveal).length) revealOnce(body.reveal, done);
        else done();
        return;
      }
      const body = await response.json().catch(() => ({}));
      reason = typeof body.reason === "string" ? body.reason : "provider_error";
      // Another account than the one installed: the page asks whether it replaces it.
      if (typeof body.replacement === "string") replace = body.replacement;
    } catch (error) {
      reason = "unavailable";
    }
    const query = { status: "error", integration: type, reason: reason };
    page(projectId, replace ? Object.assign(query, { replace: replace }) : query);
  }

  // A secret shown exactly once (a webhook's signing secret): only in this dialog, never stored.
  function revealOnce(values, done) {
    const overlay = document.createElement("div");
    overlay.id = "reveal";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-labelledby", "reveal-title");
    overlay.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.45);display:flex;" +
      "align-items:center;justify-content:center;z-index:1000";
    const box = document.createElement("div");
    box.style.cssText = "background:#fff;border-radius:12px;padding:1.5rem;max-width:36rem;font-family:system-ui";
    const title = document.createElement("h2");
    title.id = "reveal-title";
    title.textContent = "Copy it now: it is shown only once";
    box.appendChild(title);
    Object.entries(values).forEach(function ([name, value]) {
      const label = document.createElement("p");
      label.textContent = name.replace(/_/g, " ");
      const code = document.createElement("code");
      code.id = "reveal-" + name.replace(/_/g, "-");
      code.textContent = String(value);
      code.style.cssText = "display:block;word-break:break-all;padding:.5rem;background:#f3f4f6";
      box.append(label, code);
    });
    const button = document.createElement("button");
    button.id = "reveal-done";
    button.textContent = "I have saved it";
    button.style.cssText = "margin-top:1rem;padding:.5rem 1rem";
    button.addEventListener("click", function () {
      overlay.remove();
      box.remove();
      done();
    });
    box.appendChild(button);
    // Inside an open dialog, the dialog owns pointer events: show it there instead of over the page.
    const form = document.querySelector("[data-connect-form]");
    if (form) {
      form.replaceChildren(box);
    } else {
      overlay.appendChild(box);
      document.body.appendChild(overlay);
    }
    button.focus();
  }

  function submitForm(tenantId, projectId, type) {
    const root = document.querySelector('[data-connect-form="' + CSS.escape(type) + '"]');
    if (!root) return;
    const fields = {};
    root.querySelectorAll("[name]").forEach(function (element) {
      if (element.type === "checkbox") {
        fields[element.name] = fields[element.name] || [];
        if (element.checked) fields[element.name].push(element.value);
      } else {
        fields[element.name] = element.value;
      }
    });
    const button = root.querySelector("[data-submit]");
    if (button) button.disabled = true;
    connect(tenantId, projectId, type, fields);
  }

  // A provider's signup popup (Meta's Embedded Signup) posts its result to this page. Only a message
  // from that popup window, from the provider's own origin, of the expected type, is accepted.
  function popup(tenantId, projectId, type, url, origin, messageType) {
    const child = window.open(url, "tms-" + type, "popup,width=640,height=760");
    if (!child) {
      page(projectId, { status: "error", integration: type, reason: "popup_blocked" });
      return;
    }
    function listener(event) {
      if (event.origin !== origin || event.source !== child) return;
      let data = event.data;
      if (typeof data === "string") {
        try {
          data = JSON.parse(data); // Meta posts its session info as a JSON string
        } catch (error) {
          return;
        }
      }
      if (!data || data.type !== messageType) return;
      window.removeEventListener("message", listener);
      if (data.event === "FINISH" && typeof data.code === "string") {
        connect(tenantId, projectId, type, Object.assign({}, data.data || {}, { code: data.code }));
      } else {
        page(projectId, { status: "error", integration: type, reason: "access_denied" });
      }
    }
    window.addEventListener("message", listener);
  }

  // Focus returns to the control that opened a dialog. The console opens its dialogs from state, not
  // from a Radix trigger, so Radix has no trigger to give the focus back to and it would fall to the
  // page's body when the dialog leaves the page (a keyboard user would start again from the top).
  const LAYERS = '[role="dialog"], [role="alertdialog"], [role="listbox"]';
  let opener = null;
  document.addEventListener("focusin", function (event) {
    if (event.target instanceof Element && !event.target.closest(LAYERS)) opener = event.target;
  });
  let layerOpen = false;
  new MutationObserver(function () {
    const open = Boolean(document.querySelector(LAYERS));
    const lost = !document.activeElement || document.activeElement === document.body;
    if (layerOpen && !open && lost && opener && opener.isConnected) opener.focus({ preventScroll: true });
    layerOpen = open;
  }).observe(document.body, { childList: true });

  // Radix Select gives the focus back to its trigger while the Enter that picked an option is still being
  // handled; that Enter's click then lands on the trigger and opens the list again (the focus is trapped
  // in it). The trigger opens on keydown, so an Enter click on it is never needed.
  document.addEventListener(
    "keypress",
    function (event) {
      const target = event.target;
      if (event.key === "Enter" && target instanceof Element && target.matches('button[role="combobox"]')) {
        event.preventDefault();
      }
    },
    true,
  );

  window.tmsConsole = { connect: connect, submitForm: submitForm, popup: popup };
})();
