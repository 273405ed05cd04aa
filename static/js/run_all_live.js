// The campaign page's "run all remaining steps" follows itself: the server sends the panel
// rendered afresh on every change of the sequence or of its running step; it is replaced here.
// When a step of it starts or ends, the campaign's table below is fetched afresh too.
(function () {
  "use strict";
  var wrap = document.querySelector(".run-all-wrap[data-live-url]");
  if (!wrap) { return; }
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + wrap.dataset.liveUrl;
  var startForm = document.querySelector("form.run-all-start");

  // The sequence's place (run, status, step) that the table was last rendered with. A step that
  // ended between the page's render and the socket joining its group (or while the socket was
  // reconnecting) sends no event of its own any more: the panel the socket sends on connecting
  // shows it, and the table catches up from that difference.
  function stateIn(root) {
    var panel = root.querySelector(".run-all[data-state]");
    return panel ? panel.dataset.state : "";
  }
  var tableState = stateIn(wrap);

  // Only the answer to the latest fetch is shown: a slow earlier one must not put back a table
  // older than the one a later fetch brought.
  var asked = 0;
  function refreshTable() {
    var ask = ++asked;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html || ask !== asked) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("table.report");
        var table = document.querySelector("table.report");
        if (fresh && table) { table.replaceWith(fresh); }
      });
  }

  function connect() {
    var socket = new WebSocket(url);
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      var typing = wrap.contains(document.activeElement) && document.activeElement.tagName === "INPUT";
      if (data.html !== undefined && !typing) {
        wrap.innerHTML = data.html;
        // While a sequence runs there is nothing to start; once it ended the start is back
        // when steps are left (the next page load decides, as the server counts them).
        if (startForm) { startForm.hidden = Boolean(wrap.querySelector(".run-all-running")); }
      }
      var state = data.html === undefined ? tableState
        : stateIn(new DOMParser().parseFromString(data.html, "text/html"));
      if (data.what === "run_all" || state !== tableState) {
        tableState = state;
        refreshTable();
      }
    };
    socket.onclose = function () { setTimeout(connect, 2000); };
  }
  connect();
})();
