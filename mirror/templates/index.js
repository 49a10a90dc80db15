(function () {
  "use strict";
  // Keeps the preview and the snippets in step with the form; the server
  // renders the same snippets for the same values (see mirror/page.py).
  var DEFAULTS = {organization: "library", tag: "latest", text: "Docker",
                  style: "flat"};
  var ALT = "build status";
  var form = document.getElementById("badge-form");
  var base = form.getAttribute("data-base");

  function encoded(value) {
    return encodeURIComponent(value).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }

  function escaped(value) {
    return value.replace(/&/g, "&amp;").replace(/</g, "&lt;")
      .replace(/>/g, "&gt;").replace(/"/g, "&quot;")
      .replace(/'/g, "&#x27;");
  }

  function values() {
    var out = {};
    ["organization", "repository", "tag", "text", "style"].forEach(
      function (name) { out[name] = form.elements[name].value; });
    out.organization = out.organization || DEFAULTS.organization;
    out.tag = out.tag || DEFAULTS.tag;
    return out;
  }

  function badgeQuery(v) {
    var pairs = [["organization", v.organization],
                 ["repository", v.repository]];
    ["tag", "text", "style"].forEach(function (name) {
      if (v[name] !== DEFAULTS[name]) {
        pairs.push([name, v[name]]);
      }
    });
    return pairs.map(function (pair) {
      return pair[0] + "=" + encoded(pair[1]);
    }).join("&");
  }

  function hubUrl(v) {
    var repository = encoded(v.repository);
    if (v.organization === "library" || v.organization === "_") {
      return "https://hub.docker.com/_/" + repository;
    }
    return "https://hub.docker.com/r/" + encoded(v.organization) + "/" +
      repository;
  }

  function jsonPath(v) {
    var path = "/build/" + encoded(v.organization) + "/" +
      encoded(v.repository);
    if (v.tag !== DEFAULTS.tag) {
      path += "?tag=" + encoded(v.tag);
    }
    return path;
  }

  function update() {
    var v = values();
    var query = badgeQuery(v);
    var url = base + "/status.svg?" + query;
    var link = hubUrl(v);
    document.getElementById("preview").src = "/status.svg?" + query;
    document.getElementById("snippet-markdown").value =
      "[![" + ALT + "](" + url + ")](" + link + ")";
    document.getElementById("snippet-html").value =
      '<a href="' + escaped(link) + '"><img src="' + escaped(url) +
      '" alt="' + ALT + '"></a>';
    document.getElementById("snippet-rst").value =
      ".. image:: " + url + "\n   :alt: " + ALT + "\n   :target: " + link;
    document.getElementById("json-link").href = jsonPath(v);
    document.getElementById("client-link").href =
      "/client/status.svg?" + query;
  }

  function copy(button) {
    var area = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById("copy-status");
    function done() { status.textContent = "Copied."; }
    function fallback() {
      area.select();
      status.textContent = document.execCommand("copy") ? "Copied." :
        "Select the text and copy it.";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(area.value).then(done, fallback);
    } else {
      fallback();
    }
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () { copy(button); });
  });
}());
