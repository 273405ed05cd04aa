// The campaign page's "run all remaining steps" follows itself: the server sends the panel
// rendered afresh on every change of the sequence or of its running step; it is replaced here.
// When a step of it starts or ends, the campaign's table below is fetched afresh too.
(function () {
  "use strict";
  var wrap = document.querySelector(".run-all-wrap[data-live-url]");
  if (!wrap) { return; }
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + wrap.dataset.liveUrl;
  var startForm = document.querySelector("form.run-all-start");

  function refreshTable() {
    fetch(location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
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
      if (data.what === "run_all") { refreshTable(); }
    };
    socket.onclose = function () { setTimeout(connect, 2000); };
  }
  connect();
})();
