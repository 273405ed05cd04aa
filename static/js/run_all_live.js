// The campaign page's "run all remaining steps" follows itself: the server sends the panel
// rendered afresh on every change of the sequence or of its running step; it is replaced here.
(function () {
  "use strict";
  var wrap = document.querySelector(".run-all-wrap[data-live-url]");
  if (!wrap) { return; }
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + wrap.dataset.liveUrl;
  var startForm = document.querySelector("form.run-all-start");
  function connect() {
    var socket = new WebSocket(url);
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      var typing = wrap.contains(document.activeElement) && document.activeElement.tagName === "INPUT";
      if (data.html !== undefined && !typing) {
        wrap.innerHTML = data.html;
        // While a sequence runs there is nothing to start; once it ended, the table's verdicts
        // changed: a reload shows them and offers the start again.
        var running = wrap.querySelector(".run-all-running");
        if (startForm) { startForm.hidden = Boolean(running); }
      }
    };
    socket.onclose = function () { setTimeout(connect, 2000); };
  }
  connect();
})();
