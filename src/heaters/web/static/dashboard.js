// The dashboard: the video table refreshed every second from /api/videos, uploads with a progress bar,
// retry buttons. Forms also work without this script (plain POST + redirect).

const $ = (sel) => document.querySelector(sel);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const POLL_MS = 1000;
const STATE_LABELS = {
  new: "queued",
  downloading: "downloading",
  downloaded: "downloaded",
  download_failed: "download failed",
  preprocessing: "preprocessing",
  preprocessed: "preprocessed",
  preprocess_failed: "preprocess failed",
  detecting_scenes: "detecting shots",
  scenes_detected: "ready",
  detect_scenes_failed: "detection failed",
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function render(data) {
  const body = $("#videos tbody");
  $("#no-videos").hidden = data.videos.length > 0;
  body.replaceChildren(
    ...data.videos.map((v) => {
      const pct = v.progress === null ? null : Math.round(v.progress * 100);
      const progress =
        v.running || (pct !== null && pct < 100 && !v.failed)
          ? el("div", { class: "bar" }, el("span", { style: `width:${pct ?? 0}%` }))
          : null;
      // a long video preprocessed in chunks: one cell per chunk (done, running with its progress, queued)
      const chunks = v.chunks && v.chunks.length
        ? el(
            "div",
            { class: "chunks", title: `${v.chunks.filter((c) => c.state === "done").length} of ${v.chunks.length} chunks done` },
            ...v.chunks.map((c) =>
              el(
                "span",
                {
                  class: `chunk ${c.state}`,
                  "data-chunk": c.index,
                  "data-state": c.state,
                  title: `${c.index < 0 ? "audio" : `chunk ${c.index + 1}`}: ${c.state}${c.state === "running" && c.progress !== null ? ` ${Math.round(c.progress * 100)}%` : ""}`,
                },
                el("span", { style: `width:${c.state === "done" ? 100 : Math.round((c.progress || 0) * 100)}%` }),
              ),
            ),
          )
        : null;
      const stateCell = el(
        "td",
        {},
        el("span", { class: `badge ${v.state}` }, STATE_LABELS[v.state] || v.state),
        v.last_error && v.failed ? el("div", { class: "error small", title: v.last_error }, v.last_error) : null,
      );
      const clips =
        v.clips > 0
          ? el(
              "span",
              {},
              `${v.reviewed}/${v.clips} reviewed`,
              v.pending_review ? el("b", {}, ` · ${v.pending_review} to go`) : null,
              v.skipped ? el("span", { class: "muted" }, ` · ${v.skipped} skipped`) : null,
            )
          : el("span", { class: "muted" }, "–");
      const retry = v.retryable  // a video whose input was refused cannot succeed by retrying
        ? el("button", { type: "button", class: "retry", "data-video": v.id, onclick: () => retryVideo(v.id) }, "Retry")
        : v.pending_review || v.skipped
          ? el("a", { class: "button", href: `/review?video=${v.id}` }, "Review")
          : null;
      // The reviewed clips as a timeline for an editor (OpenTimelineIO; EDL for older tools).
      const timeline =
        v.reviewed > 0
          ? el(
              "span",
              { class: "timeline-links small" },
              el("a", { href: `/videos/${v.id}/timeline.otio`, download: "", title: "OpenTimelineIO timeline" }, "OTIO"),
              " · ",
              el("a", { href: `/videos/${v.id}/timeline.edl`, download: "", title: "CMX 3600 EDL" }, "EDL"),
            )
          : null;
      return el(
        "tr",
        { "data-video-id": v.id, "data-state": v.state },
        el("td", { class: "muted" }, v.id),
        el("td", { class: "title" }, el("div", {}, v.title), el("div", { class: "muted small source" }, v.source)),
        stateCell,
        el("td", { class: "progress-col" }, progress, pct !== null && v.running ? el("span", { class: "pct" }, `${pct}%`) : null, chunks),
        el("td", {}, clips),
        el("td", {}, retry, timeline),
      );
    }),
  );
  const v = data.counts.videos;
  const c = data.counts.clips;
  const sum = (obj) => Object.values(obj).reduce((a, b) => a + b, 0);
  const exported = ["exported", "keyframing", "keyframed", "embedding", "embedded"].reduce((a, k) => a + (c[k] || 0), 0);
  $("#totals").replaceChildren(
    el("h2", {}, "Totals"),
    el(
      "dl",
      {},
      el("dt", {}, "Videos"), el("dd", {}, sum(v)),
      el("dt", {}, "Clips to review"), el("dd", {}, c.pending_review || 0),
      el("dt", {}, "Approved"), el("dd", {}, (c.review_approved || 0) + (c.exporting || 0)),
      el("dt", {}, "Exported"), el("dd", {}, exported),
    ),
  );
}

async function poll() {
  try {
    const response = await fetch("/api/videos", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) return (location.href = "/login?next=/");
    if (response.ok) render(await response.json());
  } catch (_) {
    /* the server restarting: try again on the next tick */
  }
  setTimeout(poll, POLL_MS);
}

async function retryVideo(id) {
  const response = await fetch(`/videos/${id}/retry`, {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRF-Token": csrf },
  });
  const data = await response.json().catch(() => ({}));
  flash(data.message || data.error || "retry failed", response.ok ? "info" : "error");
}

function flash(message, kind) {
  const node = el("div", { class: `flash flash-${kind}`, role: "status" }, message);
  document.querySelector("main").before(node);
  setTimeout(() => node.remove(), 5000);
}

$("#upload-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const file = form.file.files[0];
  if (!file) return;
  const data = new FormData();
  data.append("csrf_token", csrf); // before the file: the server checks it before writing anything
  data.append("file", file, file.name);
  const xhr = new XMLHttpRequest();
  const box = $("#upload-progress");
  box.hidden = false;
  xhr.upload.onprogress = (ev) => {
    if (!ev.lengthComputable) return;
    const pct = Math.round((100 * ev.loaded) / ev.total);
    box.querySelector(".bar span").style.width = `${pct}%`;
    box.querySelector(".pct").textContent = `${pct}%`;
  };
  xhr.onload = () => {
    box.hidden = true;
    const answer = JSON.parse(xhr.responseText || "{}");
    flash(answer.message || answer.error || `upload failed (${xhr.status})`, xhr.status < 300 ? "info" : "error");
    form.reset();
  };
  xhr.onerror = () => {
    box.hidden = true;
    flash("upload failed: connection lost", "error");
  };
  xhr.open("POST", "/videos/upload");
  xhr.setRequestHeader("Accept", "application/json");
  xhr.setRequestHeader("X-CSRF-Token", csrf);
  xhr.send(data);
});

$("#submit-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.currentTarget;
  const response = await fetch("/videos", {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRF-Token": csrf },
    body: new FormData(form),
  });
  const data = await response.json().catch(() => ({}));
  flash(data.message || data.error || "could not add", response.ok ? "info" : "error");
  if (response.ok) form.reset();
});

document.addEventListener("keydown", (e) => {
  if (e.target.closest("input, textarea, select") || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === "r" || e.key === "R") location.href = "/review";
});

render(JSON.parse($("#initial-state").textContent));
setTimeout(poll, POLL_MS);
