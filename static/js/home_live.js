// The home page follows the lab: the server only says which sections changed (never what is in
// them); each is fetched afresh from its data-url, rendered by the same partial as the page
// through the user's own selectors. One fetch per section at a time: a change heard during a
// fetch fetches once more after it, so a burst costs at most two.
(function () {
  "use strict";
  var grid = document.querySelector(".home-grid[data-live-url]");
  if (!grid) { return; }
  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + grid.dataset.liveUrl;
  var state = {};  // section name: "busy" while fetching, "again" when it changed meanwhile

  function refresh(name) {
    // The catalogue's tiles sit below the grid: look for a section on the whole page.
    var section = document.querySelector('[data-home-section="' + name + '"]');
    if (!section) { return; }
    if (state[name]) { state[name] = "again"; return; }
    state[name] = "busy";
    fetch(section.dataset.url, { credentials: "same-origin" })
      .then(function (response) { return response.ok && !response.redirected ? response.text() : null; })
      .then(function (html) { if (html !== null) { section.innerHTML = html; } })
      .catch(function () {})
      .then(function () {
        var again = state[name] === "again";
        state[name] = null;
        if (again) { refresh(name); }
      });
  }

  function connect() {
    var socket = new WebSocket(url);
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      grid.dataset.live = "on";  // the server follows the lab for this page from now on
      (data.sections || []).forEach(refresh);
    };
    socket.onclose = function () { setTimeout(connect, 2000); };
  }
  connect();
})();
