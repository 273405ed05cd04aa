// One frame line from the values the server formatted, in an empty copy of the partial
// stations/_frame_line.html (<template id="frame-line">): the station page and the step page
// both show live frames this way, so the lines look the same as the server-rendered history.
window.CertLabFrameLine = function (template, frame) {
  "use strict";
  const li = template.content.firstElementChild.cloneNode(true);
  li.className = "frame frame-" + frame.direction + (frame.is_error ? " frame-error" : "");
  if (frame.id) li.dataset.id = frame.id;
  li.dataset.key = frame.key;
  for (const slot of li.querySelectorAll("[data-slot]")) slot.textContent = frame[slot.dataset.slot];
  li.querySelector("time").dateTime = frame.datetime;
  li.querySelector("[data-slot=error]").hidden = !frame.error;
  return li;
};
