// Resumable uploads for the applicant's packet page: many files at once (drop or choose), a
// progress bar per file, parts sent through intake into an S3 multipart upload.
//
// Each file: ask intake to start an upload (or, if this browser started one for the same
// application + name + size + lastModified, ask intake which parts it already holds), send
// the missing parts, at most PARALLEL at once, then complete. A dropped connection pauses the
// file after a few retries; it continues by itself when the browser is online again, on
// "Resume", or after a reload when the same file is chosen again — never sending a part the
// store already has.
(function () {
  "use strict";
  var PARALLEL = 3;
  var RETRY_MS = [500, 1000, 2000];
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : "";

  function NetworkError(message) { this.message = message; this.network = true; }
  function Problem(status, body) {
    this.status = status;
    this.body = body || {};
    this.message = (body && (body.title || body.detail)) || ("HTTP " + status);
  }

  function request(method, url, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      if (body instanceof Blob) {
        xhr.setRequestHeader("Content-Type", "application/octet-stream");
      } else if (body !== null && body !== undefined) {
        xhr.setRequestHeader("Content-Type", "application/json");
        body = JSON.stringify(body);
      }
      if (onProgress && xhr.upload) {
        xhr.upload.onprogress = function (e) { if (e.lengthComputable) onProgress(e.loaded); };
      }
      xhr.onload = function () {
        var parsed = null;
        try { parsed = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch (e) { parsed = null; }
        if (xhr.status >= 200 && xhr.status < 300) resolve(parsed);
        else if (xhr.status === 0 || xhr.status === 502 || xhr.status === 503 || xhr.status === 504) {
          reject(new NetworkError("HTTP " + xhr.status));
        } else reject(new Problem(xhr.status, parsed));
      };
      xhr.onerror = function () { reject(new NetworkError("network")); };
      xhr.ontimeout = xhr.onerror;
      xhr.send(body === undefined ? null : body);
    });
  }

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  // Network failures are retried a few times; a refusal (4xx) is not.
  function withRetry(make) {
    var attempt = 0;
    function go() {
      return make().catch(function (err) {
        if (!err.network || attempt >= RETRY_MS.length) throw err;
        return sleep(RETRY_MS[attempt++]).then(go);
      });
    }
    return go();
  }

  function Uploader(form) {
    this.form = form;
    this.app = form.getAttribute("data-app");
    this.startUrl = form.getAttribute("data-start");
    this.list = form.querySelector("#u-list");
    this.uploads = [];
    var self = this;
    var input = form.querySelector("#u-files");
    var drop = form.querySelector("#u-drop");
    input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(input.files);
      input.value = "";
      self.add(files);
    });
    drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      drop.classList.remove("over");
      self.add(Array.prototype.slice.call(e.dataTransfer.files));
    });
    // A new version belongs to its document's requirement: "upload as" offers only the
    // documents of the requirement chosen, so the two can never disagree (the server refuses
    // a mismatch too). Changing the requirement never silently changes the target's.
    var requirement = form.querySelector("#u-requirement");
    if (requirement.tagName === "SELECT") {
      requirement.addEventListener("change", function () { self.matchTargets(); });
    }
    this.matchTargets();
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    window.addEventListener("online", function () {
      self.uploads.forEach(function (u) { if (u.state === "paused") u.run(); });
    });
  }

  Uploader.prototype.msg = function (key) {
    return this.form.getAttribute("data-msg-" + key) || key;
  };

  Uploader.prototype.matchTargets = function () {
    var requirement = this.form.querySelector("#u-requirement");
    var target = this.form.querySelector("#u-target");
    if (requirement.tagName !== "SELECT") return;
    Array.prototype.forEach.call(target.options, function (opt) {
      var req = opt.getAttribute("data-requirement");
      var other = req !== null && req !== requirement.value;
      opt.hidden = other;
      opt.disabled = other;
    });
    var chosen = target.options[target.selectedIndex];
    if (!chosen || chosen.disabled) target.value = "";
  };

  Uploader.prototype.add = function (files) {
    var self = this;
    var opts = {
      requirement: this.form.querySelector("#u-requirement").value,
      document_id: this.form.querySelector("#u-target").value || null,
      confidentiality: this.form.querySelector("#u-confidentiality").value,
      secret_pages: this.form.querySelector("#u-pages").value.trim() || null
    };
    files.forEach(function (file) {
      var upload = new FileUpload(self, file, opts);
      self.uploads.push(upload);
      upload.run();
    });
    // The pages box belongs to the files just sent: left filled, it would be sent with the
    // next files too (and refused unless they are trade secrets as well).
    this.form.querySelector("#u-pages").value = "";
  };

  Uploader.prototype.refresh = function () {
    var self = this;
    // The documents table, the checklist and the selects that name documents (publicity proof,
    // "new version of"), as the server now sees them: one request for the page, parts taken.
    window.dossierFetch(window.location.pathname, { headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["#documents", "#checklist", "#f-document_id", "#u-target"].forEach(function (sel) {
          var el = document.querySelector(sel);
          var now = fresh.querySelector(sel);
          if (!el || !now) return;
          var chosen = el.value;
          el.innerHTML = now.innerHTML;
          if (chosen !== undefined && el.tagName === "SELECT") el.value = chosen;
          if (sel === "#u-target") self.matchTargets();
          if (sel === "#checklist" && !el.querySelector("[data-refresh-stop]")) pollChecklist(el);
        });
      })
      .catch(function () {});
  };

  function pollChecklist(el) {
    if (el._polling) return;
    el._polling = true;
    setTimeout(function tick() {
      window.dossierFetch(el.getAttribute("data-refresh"), { headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null) el.innerHTML = html;
          if (html !== null && el.querySelector("[data-refresh-stop]")) el._polling = false;
          else setTimeout(tick, 3000);
        })
        .catch(function () { setTimeout(tick, 6000); });
    }, 3000);
  }

  function FileUpload(uploader, file, opts) {
    this.uploader = uploader;
    this.file = file;
    this.opts = opts;
    this.key = "dossier-upload:" + uploader.app + ":" + file.name + ":" + file.size + ":" + file.lastModified;
    this.state = "queued";
    this.running = false;
    this.build();
  }

  FileUpload.prototype.build = function () {
    var u = this.uploader;
    var li = document.createElement("li");
    li.setAttribute("data-upload-row", "");
    li.setAttribute("data-file", this.file.name);
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = this.file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", u.msg("progress").replace("{name}", this.file.name));
    var pct = document.createElement("span");
    pct.className = "upload-pct";
    pct.textContent = "0%";
    var status = document.createElement("span");
    status.className = "upload-status";
    var resume = document.createElement("button");
    resume.type = "button";
    resume.className = "secondary";
    resume.textContent = u.msg("resume");
    resume.hidden = true;
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "link";
    cancel.textContent = u.msg("cancel");
    var self = this;
    resume.addEventListener("click", function () { self.run(); });
    cancel.addEventListener("click", function () { self.cancel(); });
    [name, bar, pct, status, resume, cancel].forEach(function (el) { li.appendChild(el); });
    u.list.appendChild(li);
    this.row = li; this.bar = bar; this.pct = pct; this.status = status;
    this.resumeButton = resume; this.cancelButton = cancel;
    this.setState("queued");
  };

  FileUpload.prototype.setState = function (state, text) {
    this.state = state;
    this.row.setAttribute("data-state", state);
    var key = { queued: "queued", uploading: "uploading", resuming: "resuming",
                finishing: "finishing", done: "done", paused: "paused", failed: "failed",
                cancelled: "cancelled" }[state];
    this.status.textContent = text ? this.uploader.msg(key) + ": " + text : this.uploader.msg(key);
    this.resumeButton.hidden = state !== "paused";
    this.cancelButton.hidden = state === "done" || state === "cancelled" || state === "failed";
  };

  FileUpload.prototype.showProgress = function () {
    var inflight = 0;
    var loaded = this.loaded || {};
    Object.keys(loaded).forEach(function (k) { inflight += loaded[k]; });
    var ratio = this.file.size ? Math.min(1, (this.bytesDone + inflight) / this.file.size) : 1;
    var value = Math.floor(ratio * 1000) / 10;
    this.bar.value = value;
    this.pct.textContent = value + "%";
  };

  FileUpload.prototype.url = function (suffix) {
    return this.uploader.startUrl + "/" + encodeURIComponent(this.id) + (suffix || "");
  };

  // Start a new upload, or find the one this browser began for the same file.
  FileUpload.prototype.open = function () {
    var self = this;
    var known = null;
    try { known = window.localStorage.getItem(this.key); } catch (e) { known = null; }
    if (known) {
      this.id = known;
      return withRetry(function () { return request("GET", self.url(), null); })
        .then(function (status) {
          if (status.version_id) { self.finished = true; return status; }
          self.setState("resuming");
          return status;
        })
        .catch(function (err) {
          if (err.network) throw err;
          try { window.localStorage.removeItem(self.key); } catch (e) { /* private mode */ }
          return self.begin();
        });
    }
    return this.begin();
  };

  FileUpload.prototype.begin = function () {
    var self = this;
    var body = {
      filename: this.file.name, size: this.file.size,
      declared_type: this.file.type || "application/octet-stream",
      requirement: this.opts.requirement, confidentiality: this.opts.confidentiality,
      secret_pages: this.opts.secret_pages, document_id: this.opts.document_id
    };
    return withRetry(function () { return request("POST", self.uploader.startUrl, body); })
      .then(function (started) {
        self.id = started.id;
        try { window.localStorage.setItem(self.key, started.id); } catch (e) { /* private mode */ }
        return { part_size: started.part_size, parts: started.parts, received: [],
                 missing: Array.from({ length: started.parts }, function (_, i) { return i + 1; }) };
      });
  };

  FileUpload.prototype.run = function () {
    if (this.running || this.state === "done" || this.state === "cancelled") return;
    this.running = true;
    this.stopped = false;
    var self = this;
    this.setState("uploading");
    this.open()
      .then(function (status) {
        if (self.finished) return self.complete();
        self.partSize = status.part_size;
        self.parts = status.parts;
        var todo = status.missing.slice();
        self.bytesDone = self.file.size - todo.reduce(function (sum, n) { return sum + self.length(n); }, 0);
        self.loaded = {};
        self.showProgress();
        return self.sendAll(todo).then(function () { return self.complete(); });
      })
      .then(function () {
        self.running = false;
        self.bytesDone = self.file.size;
        self.loaded = {};
        self.showProgress();
        try { window.localStorage.removeItem(self.key); } catch (e) { /* private mode */ }
        self.setState("done");
        self.uploader.refresh();
      })
      .catch(function (err) {
        self.running = false;
        if (self.state === "cancelled") return;
        if (err.network) { self.setState("paused"); return; }
        if (err.status === 404 || err.status === 413 || err.status === 415 || err.status === 422) {
          try { window.localStorage.removeItem(self.key); } catch (e) { /* private mode */ }
        }
        self.setState("failed", err.message);
      });
  };

  FileUpload.prototype.length = function (n) {
    return n < this.parts ? this.partSize : this.file.size - (this.parts - 1) * this.partSize;
  };

  FileUpload.prototype.sendAll = function (todo) {
    var self = this;
    var queue = todo.slice();
    var failure = null;
    function worker() {
      if (self.stopped || !queue.length) return Promise.resolve();
      var n = queue.shift();
      var start = (n - 1) * self.partSize;
      var blob = self.file.slice(start, start + self.length(n));
      return withRetry(function () {
        if (self.stopped) return Promise.reject(failure || new NetworkError("stopped"));
        self.loaded[n] = 0;
        return request("PUT", self.url("/parts/" + n), blob, function (loaded) {
          self.loaded[n] = loaded;
          self.showProgress();
        });
      }).then(function () {
        delete self.loaded[n];
        self.bytesDone += self.length(n);
        self.showProgress();
        return worker();
      }, function (err) {
        delete self.loaded[n];
        self.stopped = true;  // the others stop after their current part
        if (!failure) failure = err;
      });
    }
    var workers = [];
    for (var i = 0; i < Math.min(PARALLEL, queue.length); i++) workers.push(worker());
    // Settle every worker before reporting: no part may still be on its way once the file
    // shows as paused or failed.
    return Promise.all(workers).then(function () {
      if (failure) throw failure;
      if (self.stopped) throw new NetworkError("stopped");
    });
  };

  FileUpload.prototype.complete = function () {
    var self = this;
    this.setState("finishing");
    return withRetry(function () { return request("POST", self.url("/complete"), null); })
      .catch(function (err) {
        if (err.status === 409 && err.body && err.body.code === "upload.parts_missing") {
          // The store lost or never got a part: send exactly those, then complete again.
          self.setState("uploading");
          return self.sendAll(err.body.errors.parts).then(function () {
            return request("POST", self.url("/complete"), null);
          });
        }
        throw err;
      });
  };

  FileUpload.prototype.cancel = function () {
    var self = this;
    this.stopped = true;
    this.setState("cancelled");
    try { window.localStorage.removeItem(this.key); } catch (e) { /* private mode */ }
    if (this.id) request("DELETE", this.url(), null).catch(function () {});
  };

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("uploader");
    if (form) new Uploader(form);
  });
})();
