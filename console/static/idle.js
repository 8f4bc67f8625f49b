// Counts down the session's idle timeout on the page and, when it has passed, goes to the
// sign-in page (the gateway has ended the session by then). Pages work without this script:
// the gateway refuses an idle session on the next request whatever the browser does.
(function () {
  "use strict";
  var body = document.body;
  var seconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  if (!seconds) { return; }
  var left = document.getElementById("idle-left");
  var ends = Date.now() + seconds * 1000;
  function tick() {
    var remaining = Math.max(0, Math.round((ends - Date.now()) / 1000));
    if (left) { left.textContent = Math.ceil(remaining / 60).toString(); }
    if (remaining <= 0) {
      window.location.assign("/console/sign-in?ended=1");
      return;
    }
    window.setTimeout(tick, 15000 > remaining * 1000 ? remaining * 1000 : 15000);
  }
  tick();
}());
