// The new-campaign form: an empty lab parameter takes the mode's default; the placeholders show
// the defaults of the mode ticked (certification or rehearsal).
(function () {
  "use strict";
  var rehearsal = document.getElementById("id_rehearsal");
  if (!rehearsal) { return; }
  function showDefaults() {
    document.querySelectorAll("input[data-default]").forEach(function (input) {
      input.placeholder = rehearsal.checked ? input.dataset.rehearsalDefault : input.dataset.default;
    });
  }
  rehearsal.addEventListener("change", showDefaults);
  showDefaults();
})();
