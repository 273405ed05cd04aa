// A station's live page: the frame log (history + live stream) and the command console.
// URLs come from data-* attributes; lines come from one partial (stations/_frame_line.html).
(function () {
  "use strict";

  const log = document.getElementById("frame-log");
  if (log) frameLog(log);
  const consoleEl = document.getElementById("console");
  if (consoleEl) commandConsole(consoleEl);

  // History lines are rendered by the server from stations/_frame_line.html; live lines fill an
  // empty copy of the same partial (<template id="frame-line">) with the values the server
  // formatted, so both look the same. The stream starts after the newest frame id the page
  // has (data-after): the server replays what was saved since, and lines already shown are
  // recognised by their key and skipped.
  function frameLog(section) {
    const list = document.getElementById("frames");
    const template = document.getElementById("frame-line");
    const form = document.getElementById("frame-filter");
    const older = document.getElementById("older");
    const state = document.getElementById("live-state");
    let nextBefore = section.dataset.nextBefore;
    let after = parseInt(section.dataset.after || "0", 10);
    let keys = new Set();
    let socket = null;
    let retry = null;

    function rememberShown() {
      keys = new Set(Array.from(list.children, (li) => li.dataset.key));
      for (const li of list.children) if (li.dataset.id) after = Math.max(after, parseInt(li.dataset.id, 10));
    }

    function line(frame) {
      return window.CertLabFrameLine(template, frame);
    }

    // The state card follows the stream: "2026-12-01T10:00:00.123456+00:00" is shown as the
    // server shows it, "2026-12-01 10:00:00.123456" (the heartbeat to the second).
    const lastFrame = document.getElementById("last-frame");
    const lastHeartbeat = document.getElementById("last-heartbeat");
    function stamp(frame, length) {
      return frame.datetime.replace("T", " ").slice(0, length);
    }
    function later(cell, value) {  // "—" (none yet) or an older time gives way
      if (cell && (cell.textContent === "—" || value > cell.textContent)) cell.textContent = value;
    }
    function showState(frame) {
      if (!frame.datetime) return;
      later(lastFrame, stamp(frame, 26));
      if (frame.direction === "in" && frame.action === "Heartbeat" && frame.message_type === "CALL") {
        later(lastHeartbeat, stamp(frame, 19));
      }
    }

    function show(frames) {  // oldest first; the newest ends on top
      const fresh = document.createDocumentFragment();
      for (const frame of frames) {
        showState(frame);
        if (frame.id) after = Math.max(after, frame.id);
        if (keys.has(frame.key)) continue;
        keys.add(frame.key);
        fresh.prepend(line(frame));
      }
      list.prepend(fresh);
    }

    function filterParams() {
      const params = new URLSearchParams();
      const data = new FormData(form);
      for (const [key, value] of data.entries()) if (value) params.set(key, value);
      return params;
    }

    function connect() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      const params = filterParams();
      params.set("after", after);
      const ws = new WebSocket(scheme + location.host + section.dataset.wsPath + "?" + params);
      socket = ws;
      ws.onclose = () => {
        if (socket !== ws) return;  // replaced on purpose
        state.textContent = "disconnected, retrying…";
        retry = setTimeout(connect, 2000);
      };
      ws.onmessage = (event) => {
        const data = JSON.parse(event.data);
        if (data.frames) show(data.frames);
        if (data.ready) state.textContent = data.online ? "live" : "live (station offline)";
      };
    }

    function reconnect() {
      clearTimeout(retry);
      const old = socket;
      socket = null;
      if (old) old.close();
      state.textContent = "connecting…";
      connect();
    }

    async function loadHistory(before) {
      const params = filterParams();
      if (before) params.set("before", before);
      const response = await fetch(section.dataset.historyUrl + "?" + params, {headers: {Accept: "application/json"}});
      if (!response.ok) return;
      const page = await response.json();
      if (!before) list.innerHTML = "";
      list.insertAdjacentHTML("beforeend", page.html);
      nextBefore = page.next || "";
      older.hidden = !nextBefore;
      if (!before) {
        after = page.latest || 0;
        rememberShown();
        reconnect();  // the stream follows the new filter from where this history ends
      }
    }

    form.addEventListener("change", () => {
      history.replaceState(null, "", "?" + filterParams());
      loadHistory(null);
    });
    older.addEventListener("click", () => loadHistory(nextBefore).then(rememberShown));
    rememberShown();
    connect();
  }

  function commandConsole(section) {
    const schemas = JSON.parse(document.getElementById("console-schemas").textContent);
    const form = document.getElementById("console-form");
    const actionSelect = document.getElementById("console-action");
    const fields = document.getElementById("console-fields");
    const rawMode = document.getElementById("console-raw-mode");
    const raw = document.getElementById("console-raw");
    const result = document.getElementById("console-result");

    // One input per top-level property of the action's JSON schema: enums become selects,
    // numbers number inputs, objects and arrays a JSON text area.
    function buildFields() {
      fields.innerHTML = "";
      const schema = schemas[actionSelect.value] || {properties: {}};
      const required = new Set(schema.required || []);
      for (const [name, prop] of Object.entries(schema.properties || {})) {
        const label = document.createElement("label");
        label.textContent = name + (required.has(name) ? " *" : "");
        let input;
        if (prop.enum) {
          input = document.createElement("select");
          if (!required.has(name)) input.append(new Option("", ""));
          for (const value of prop.enum) input.append(new Option(value, value));
        } else if (prop.type === "object" || prop.type === "array") {
          input = document.createElement("textarea");
          input.rows = 3;
          input.placeholder = prop.type === "array" ? "[ … ] (JSON)" : "{ … } (JSON)";
        } else if (prop.type === "boolean") {
          input = document.createElement("select");
          for (const value of ["", "true", "false"]) input.append(new Option(value, value));
        } else {
          input = document.createElement("input");
          input.type = prop.type === "integer" || prop.type === "number" ? "number" : "text";
          if (prop.format === "date-time") input.placeholder = new Date().toISOString();
          if (prop.maxLength) input.maxLength = prop.maxLength;
        }
        input.dataset.field = name;
        input.dataset.type = prop.type || "string";
        label.htmlFor = input.id = "field-" + name;
        fields.append(label, input);
      }
    }

    function payload() {
      const out = {};
      for (const input of fields.querySelectorAll("[data-field]")) {
        const value = input.value.trim();
        if (value === "") continue;
        const type = input.dataset.type;
        if (type === "integer") out[input.dataset.field] = parseInt(value, 10);
        else if (type === "number") out[input.dataset.field] = parseFloat(value);
        else if (type === "boolean") out[input.dataset.field] = value === "true";
        else if (type === "object" || type === "array") out[input.dataset.field] = JSON.parse(value);
        else out[input.dataset.field] = value;
      }
      return out;
    }

    // Recent commands: one sent here shows at once and its state as it changes.
    const recent = document.getElementById("recent-commands");
    function showCommand(id, action, status) {
      const list = recent.querySelector("ul");
      let item = list.querySelector('[data-command="' + id + '"]');
      if (!item) {
        item = document.createElement("li");
        item.dataset.command = id;
        const time = new Date().toTimeString().slice(0, 8);
        item.append("#" + id + " " + (action || "raw frame") + " · ");
        const state = document.createElement("span");
        state.className = "command-status";
        item.append(state, " · " + time);
        list.prepend(item);
        recent.hidden = false;
      }
      item.querySelector(".command-status").textContent = status;
    }

    async function poll(url) {
      for (;;) {
        const response = await fetch(url, {headers: {Accept: "application/json"}});
        const command = await response.json();
        showCommand(command.id, null, command.status_label);
        if (command.status !== "queued") {
          result.textContent = command.status_label + (command.error ? ": " + command.error : "") +
            "\n" + JSON.stringify(command.response, null, 2);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      try {
        if (!rawMode.checked) data.set("payload", JSON.stringify(payload()));
      } catch (error) {
        result.textContent = "Not JSON: " + error.message;
        return;
      }
      if (!rawMode.checked) data.delete("raw");
      result.textContent = "sending…";
      const response = await fetch(section.dataset.sendUrl, {method: "POST", body: data});
      const body = await response.json();
      if (!response.ok) { result.textContent = body.error; return; }
      showCommand(body.id, rawMode.checked ? "" : actionSelect.value, "Queued");
      poll(body.url);
    });
    rawMode.addEventListener("change", () => {
      raw.hidden = !rawMode.checked;
      fields.hidden = rawMode.checked;
    });
    actionSelect.addEventListener("change", buildFields);
    buildFields();
  }
})();
