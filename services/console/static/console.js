// The live events page: follows the console's server-sent events and shows each line, newest first. Lines are
// written as text, never as HTML; the page keeps the newest MAX_LINES.
(function () {
  "use strict";
  const MAX_LINES = 1000;
  const stream = document.getElementById("stream");
  if (!stream) {
    return;
  }
  const labels = JSON.parse(stream.dataset.labels);
  const state = document.getElementById("state");
  const dropped = document.getElementById("dropped");
  const lines = document.getElementById("lines");
  let droppedTotal = 0;

  function say(text) {
    state.textContent = text;
  }

  const source = new EventSource(stream.dataset.source);
  source.addEventListener("status", function (event) {
    const following = JSON.parse(event.data).following;
    stream.dataset.following = String(following);
    say(following ? labels.live : labels.waiting);
  });
  source.addEventListener("line", function (event) {
    const line = JSON.parse(event.data);
    const item = document.createElement("li");
    item.textContent = line.text;
    item.dataset.type = line.type || "";
    item.dataset.code = line.code || "";
    const empty = document.getElementById("empty");
    if (empty) {
      empty.remove();
    }
    lines.prepend(item);
    while (lines.children.length > MAX_LINES) {
      lines.lastElementChild.remove();
    }
  });
  source.addEventListener("dropped", function (event) {
    droppedTotal += JSON.parse(event.data).count;
    dropped.textContent = labels.dropped.replace("{count}", String(droppedTotal));
    dropped.hidden = false;
  });
  source.addEventListener("ended", function () {
    source.close();
    say(labels.ended);
  });
  source.addEventListener("busy", function () {
    say(labels.reconnecting);
  });
  source.onerror = function () {
    // The browser reconnects by itself unless the console refused the stream (the session ended).
    say(source.readyState === EventSource.CLOSED ? labels.ended : labels.reconnecting);
  };
})();
