// Swap each "Making thumbnail…" placeholder for the thumbnail once the worker has made it.
(function () {
  "use strict";
  var DEADLINE_MS = 5 * 60 * 1000;

  function watch(placeholder) {
    var started = Date.now();
    var delay = 1000;
    function poll() {
      fetch(placeholder.dataset.api, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (image) {
          if (image && image.thumbnail_status !== "pending") {
            var img = document.createElement("img");
            img.className = "thumb";
            img.alt = image.filename;
            img.src = image.thumbnail_url;
            placeholder.replaceWith(img);
            img.closest(".tile").dataset.status = image.thumbnail_status;
          } else if (Date.now() - started < DEADLINE_MS) {
            delay = Math.min(delay * 1.5, 10000);
            setTimeout(poll, delay);
          }
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, delay);
  }

  document.querySelectorAll(".placeholder[data-api]").forEach(watch);
})();
