// A running attempt updates itself: its panel is re-rendered by the server on every change and
// replaced here; prompt countdowns tick locally; the station's frames stream into the page.
(function () {
  "use strict";
  function wsUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function tickCountdowns() {
    document.querySelectorAll(".prompt[data-deadline]").forEach(function (prompt) {
      var left = Math.max(0, Math.round((Date.parse(prompt.dataset.deadline) - Date.now()) / 1000));
      var seconds = prompt.querySelector(".seconds");
      if (seconds) { seconds.textContent = left; }
      prompt.classList.toggle("expiring", left < 15);
    });
  }
  setInterval(tickCountdowns, 1000);

  // A prompt's timed actions: each counts down to its start, then to its end.
  function tickSteps() {
    var now = Date.now();
    document.querySelectorAll(".prompt-steps li[data-end]").forEach(function (step) {
      var start = Date.parse(step.dataset.start), end = Date.parse(step.dataset.end);
      var state = now >= end ? "done" : now >= start ? "now" : "next";
      var countdown = step.querySelector(".step-countdown");
      var seconds = Math.max(0, Math.round(((state === "now" ? end : start) - now) / 1000));
      step.className = "step-" + state;
      countdown.textContent = state === "done" ? "time is up"
        : (state === "now" ? "now: " + seconds + " s left" : "in " + seconds + " s");
    });
  }
  setInterval(tickSteps, 1000);

  // A long wait: seconds waited and seconds of silence count up from what the server drew; a
  // frame from the station on the live stream starts the silence again.
  var lastHeard = 0;
  function tickWaits() {
    var now = Date.now();
    document.querySelectorAll(".long-wait[data-wait]").forEach(function (wait) {
      if (!wait.dataset.drawn) { wait.dataset.drawn = now; }
      var drawn = Number(wait.dataset.drawn);
      var waited = Number(wait.dataset.waited) + Math.floor((now - drawn) / 1000);
      var silent = lastHeard > drawn ? Math.floor((now - lastHeard) / 1000)
        : Number(wait.dataset.silent) + Math.floor((now - drawn) / 1000);
      wait.querySelector(".waited").textContent = Math.min(waited, Number(wait.dataset.limit));
      wait.querySelector(".silent-seconds").textContent = silent;
      wait.classList.toggle("silent-long", silent >= 30);
    });
  }
  setInterval(tickWaits, 1000);

  document.querySelectorAll(".attempt-wrap[data-live-url]").forEach(function (wrap) {
    var socket;
    function connect() {
      socket = new WebSocket(wsUrl(wrap.dataset.liveUrl));
      socket.onmessage = function (event) {
        var data = JSON.parse(event.data);
        if (data.html) {
          var typing = wrap.contains(document.activeElement) && document.activeElement.tagName === "INPUT";
          if (!typing) { wrap.innerHTML = data.html; tickCountdowns(); tickSteps(); tickWaits(); }
        }
        if (!wrap.querySelector("progress.running")) {
          // It was running when the page was drawn and has ended now: reload once so the
          // verdict form and the history appear.
          socket.onclose = null;
          setTimeout(function () { location.reload(); }, 500);
        }
      };
      socket.onclose = function () { setTimeout(connect, 2000); };
    }
    connect();
  });

  document.querySelectorAll(".frame-stream[data-stream-url]").forEach(function (box) {
    var list = box.querySelector("ol.frames");
    var state = box.querySelector(".stream-state");
    var template = document.getElementById("frame-line");
    var shown = new Set();
    var socket = new WebSocket(wsUrl(box.dataset.streamUrl + "?after=" + (box.dataset.after || 0)));
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.ready) { state.textContent = data.online ? "Live." : "The station is offline."; }
      (data.frames || []).forEach(function (frame) {
        if (shown.has(frame.key)) { return; }
        shown.add(frame.key);
        if (frame.direction === "in" && !data.replay) { lastHeard = Date.now(); tickWaits(); }
        list.appendChild(window.CertLabFrameLine(template, frame));
      });
      while (list.children.length > 500) { list.removeChild(list.firstElementChild); }
      list.scrollTop = list.scrollHeight;
    };
    socket.onclose = function () { state.textContent = "Stream closed; reload to reconnect."; };
  });
})();
