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
    try {
      const response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(fields),
      });
      if (response.ok) {
        page(projectId, { status: "success", integration: type });
        return;
      }
      const body = await response.json().catch(() => ({}));
      reason = typeof body.reason === "string" ? body.reason : "provider_error";
    } catch (error) {
      reason = "unavailable";
    }
    page(projectId, { status: "error", integration: type, reason: reason });
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

  window.tmsConsole = { connect: connect, submitForm: submitForm, popup: popup };
})();
