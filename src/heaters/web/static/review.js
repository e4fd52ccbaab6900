// The review page: player, timeline strip, keyboard actions. Every action is one POST to the JSON API,
// whose answer already holds the next clip to show (one round trip per key press). The next clips'
// videos are fetched ahead into blob URLs so they start without buffering.

const $ = (sel) => document.querySelector(sel);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const video = $("#player");
const SPEEDS = [0.25, 0.5, 1, 1.5, 2];
const CUT_ACTIONS = new Set(["split", "merge", "move_cut"]);
const KEY_ACTIONS = { a: "approve", s: "skip", x: "archive", g: "group", k: "split", m: "merge" };
const PREFETCH_KEEP = 8;

let state = JSON.parse($("#initial-state").textContent);
let speed = 1;
let queue = Promise.resolve(); // actions run one after another, in key-press order
let pending = 0;
let emptyPoll = null;
const prefetched = new Map(); // video url -> {promise, blobUrl}

// --- server ------------------------------------------------------------------------------------

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname);
    throw new Error("signed out");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || data.detail || `request failed (${response.status})`);
  return data;
}

function enqueue(task) {
  pending += 1;
  document.body.classList.add("busy");
  queue = queue
    .then(task)
    .catch((err) => notice(err.message, "error"))
    .finally(() => {
      pending -= 1;
      if (!pending) document.body.classList.remove("busy");
    });
  return queue;
}

// --- prefetch ----------------------------------------------------------------------------------

function prefetch(url) {
  if (prefetched.has(url)) return;
  const entry = { blobUrl: null };
  entry.promise = fetch(url, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(r.status))))
    .then((blob) => (entry.blobUrl = URL.createObjectURL(blob)))
    .catch(() => prefetched.delete(url));
  prefetched.set(url, entry);
  while (prefetched.size > PREFETCH_KEEP) {
    const [oldUrl, old] = prefetched.entries().next().value;
    if (old.blobUrl && video.src === old.blobUrl) break;
    if (old.blobUrl) URL.revokeObjectURL(old.blobUrl);
    prefetched.delete(oldUrl);
  }
}

function sourceFor(url) {
  const entry = prefetched.get(url);
  return entry && entry.blobUrl ? entry.blobUrl : url;
}

// --- showing a clip ----------------------------------------------------------------------------

function fps() {
  return state.clip ? state.clip.fps : 25;
}

function currentFrame() {
  if (!state.clip) return 0;
  const frame = Math.floor(video.currentTime * fps() + 1e-3);
  return Math.max(0, Math.min(state.clip.frames - 1, frame));
}

function seekFrame(frame) {
  // The middle of the frame's display interval: robust to float rounding either way.
  video.currentTime = (frame + 0.5) / fps();
}

function show(next, { keepAbsFrame = null } = {}) {
  const wasPaused = video.paused && keepAbsFrame !== null;
  const previousId = state.clip && state.clip.id;
  state = next;
  const clip = state.clip;
  $("#empty").hidden = !!clip;
  document.body.classList.toggle("queue-empty", !clip);
  renderContextPanel();
  renderTimeline();
  (state.upcoming || []).forEach((u) => prefetch(u.video_url));
  if (!clip) {
    video.removeAttribute("src");
    video.load();
    history.replaceState(null, "", "/review");
    if (!emptyPoll) emptyPoll = setInterval(() => enqueue(refreshIfEmpty), 5000);
    return;
  }
  if (emptyPoll) {
    clearInterval(emptyPoll);
    emptyPoll = null;
  }
  history.replaceState(null, "", `/review/${clip.id}`);
  if (state.video.width && state.video.height) {
    $(".player-wrap").style.aspectRatio = `${state.video.width} / ${state.video.height}`;
  }
  if (clip.id !== previousId || !video.src) {
    prefetch(clip.video_url);
    video.src = sourceFor(clip.video_url);
    video.playbackRate = speed;
    const inside = keepAbsFrame !== null && keepAbsFrame >= clip.start_frame && keepAbsFrame < clip.end_frame;
    video.addEventListener(
      "loadedmetadata",
      () => {
        video.playbackRate = speed;
        if (inside) seekFrame(keepAbsFrame - clip.start_frame);
        if (!wasPaused) play();
      },
      { once: true },
    );
  }
  document.dispatchEvent(new CustomEvent("heaters:clip", { detail: state }));
}

async function refreshIfEmpty() {
  if (!state.clip) show(await api("GET", "/api/review/next"));
}

function play() {
  const attempt = video.play();
  if (attempt) {
    attempt.catch(() => {
      // Autoplay with sound needs a user gesture first: play muted, the U key brings the sound back.
      video.muted = true;
      renderMute();
      video.play().catch(() => {});
    });
  }
}

function renderContextPanel() {
  const clip = state.clip;
  const set = (id, text) => ($(id).textContent = text);
  if (!clip) {
    for (const id of ["#clip-position", "#clip-count", "#clip-state"]) set(id, "–");
    for (const id of ["#clip-frames", "#clip-times", "#clip-duration", "#clip-group"]) set(id, "–");
    set("#video-title", "Queue empty");
    return;
  }
  set("#video-title", clip.video_title);
  $("#video-title").title = clip.video_title;
  set("#clip-position", clip.position);
  set("#clip-count", clip.count);
  const badge = $("#clip-state");
  badge.textContent = clip.state.replace("review_", "").replace("_", " ");
  badge.className = `badge ${clip.state}`;
  set("#clip-frames", `${clip.start_frame} – ${clip.end_frame - 1}  (${clip.frames} frames)`);
  set("#clip-times", `${formatTime(clip.start_seconds)} – ${formatTime(clip.end_seconds)}`);
  set("#clip-duration", `${clip.duration_seconds.toFixed(2)} s at ${+clip.fps.toFixed(3)} fps`);
  set("#clip-group", clip.group_id ? `group ${clip.group_id}` : "none");
  set("#frame-total", clip.frames);
}

function formatTime(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${m}:${s.toFixed(2).padStart(5, "0")}`;
}

// --- timeline ----------------------------------------------------------------------------------

const timeline = $("#timeline");
let stripFor = null;

function renderTimeline() {
  const clip = state.clip;
  timeline.hidden = !clip;
  if (!clip) return;
  const total = state.video.frames;
  const pct = (frame) => `${(100 * frame) / total}%`;
  const width = timeline.clientWidth || 800;
  const aspect = state.video.width && state.video.height ? state.video.width / state.video.height : 16 / 9;
  const tiles = Math.max(4, Math.min(60, Math.round(width / (timeline.clientHeight * aspect || 128))));
  const stripUrl = `${state.video.strip_url}?tiles=${tiles}`;
  if (stripFor !== stripUrl) {
    $("#strip").src = stripUrl;
    stripFor = stripUrl;
  }
  const segments = $("#segments");
  segments.replaceChildren(
    ...state.timeline.map((c) => {
      const el = document.createElement("div");
      el.className = `seg ${c.state}${c.id === clip.id ? " current" : ""}${c.group_id ? " grouped" : ""}`;
      el.style.left = pct(c.start);
      el.style.width = pct(c.end - c.start);
      el.title = `clip ${c.id} · frames ${c.start}–${c.end - 1} · ${c.state.replace("_", " ")}`;
      el.dataset.clipId = c.id;
      el.addEventListener("click", () => {
        if (c.id !== state.clip.id) enqueue(async () => show(await api("GET", `/api/review/clips/${c.id}`)));
      });
      return el;
    }),
  );
  const cuts = $("#cuts");
  cuts.replaceChildren(
    ...state.timeline.slice(1).map((c) => {
      const el = document.createElement("div");
      el.className = "cut";
      el.style.left = pct(c.start);
      el.dataset.frame = c.start;
      el.title = `cut at frame ${c.start} — drag to move`;
      el.addEventListener("pointerdown", (e) => dragCut(e, el, c.start));
      return el;
    }),
  );
  renderPlayhead();
}

function renderPlayhead() {
  if (!state.clip) return;
  const frame = currentFrame();
  const abs = state.clip.start_frame + frame;
  $("#playhead").style.left = `${(100 * (abs + 0.5)) / state.video.frames}%`;
  $("#frame-now").textContent = frame;
  $("#abs-frame").textContent = abs;
  $("#time-now").textContent = video.currentTime.toFixed(2);
}

function dragCut(event, el, fromFrame) {
  event.preventDefault();
  el.setPointerCapture(event.pointerId);
  el.classList.add("dragging");
  const rect = timeline.getBoundingClientRect();
  const total = state.video.frames;
  let toFrame = fromFrame;
  const move = (e) => {
    const x = Math.max(0, Math.min(rect.width, e.clientX - rect.left));
    toFrame = Math.max(1, Math.min(total - 1, Math.round((x / rect.width) * total)));
    el.style.left = `${(100 * toFrame) / total}%`;
    el.dataset.label = toFrame;
  };
  const up = () => {
    el.removeEventListener("pointermove", move);
    el.classList.remove("dragging");
    if (toFrame !== fromFrame) act("move_cut", { frame: fromFrame, to_frame: toFrame });
    else renderTimeline();
  };
  el.addEventListener("pointermove", move);
  el.addEventListener("pointerup", up, { once: true });
}

// --- actions -----------------------------------------------------------------------------------

function act(action, extra = {}) {
  if (action === "undo") return undo();
  return enqueue(async () => {
    const clip = state.clip;
    if (!clip) return;
    const absFrame = clip.start_frame + currentFrame();
    const body = { action, ...extra };
    if (action === "split") body.frame = absFrame;
    const answer = await api("POST", `/api/clips/${clip.id}/actions`, body);
    notice(answer.result.message, "ok");
    show(answer.state, { keepAbsFrame: CUT_ACTIONS.has(action) ? absFrame : null });
  });
}

function moveNearestCut(delta) {
  const clip = state.clip;
  if (!clip) return;
  // The server picks the cut (heaters.domain.timeline.nearest_cut): one rule, tested once.
  act("move_cut", { frame: clip.start_frame + currentFrame(), delta });
}

function undo() {
  return enqueue(async () => {
    const absFrame = state.clip ? state.clip.start_frame + currentFrame() : null;
    const answer = await api("POST", "/api/undo");
    notice(answer.result.message, "ok");
    show(answer.state, { keepAbsFrame: answer.result.action === "undo" ? absFrame : null });
  });
}

let noticeTimer = null;
function notice(message, kind) {
  const el = $("#notice");
  el.textContent = message;
  el.className = `notice ${kind}`;
  el.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (el.hidden = true), kind === "error" ? 6000 : 2500);
  const toast = $("#toast");
  toast.textContent = message;
  toast.className = `toast show ${kind}`;
  setTimeout(() => toast.classList.remove("show"), 1400);
}

// --- player controls ---------------------------------------------------------------------------

function togglePlay() {
  if (video.paused) play();
  else video.pause();
}

function step(delta) {
  if (!state.clip) return;
  video.pause();
  seekFrame(Math.max(0, Math.min(state.clip.frames - 1, currentFrame() + delta)));
}

function setSpeed(value) {
  speed = value;
  video.playbackRate = value;
  document.querySelectorAll("#speeds button").forEach((b) => b.classList.toggle("on", +b.dataset.speed === value));
}

const ICONS = {
  play: '<path d="M5 3.5v13l11-6.5z"/>',
  pause: '<path d="M5 3h3.5v14H5zM11.5 3H15v14h-3.5z"/>',
  sound: '<path d="M3 7.5h3.5L11 4v12l-4.5-3.5H3z"/><path d="M13.5 7a4 4 0 0 1 0 6M15.5 5a7 7 0 0 1 0 10" fill="none" stroke="currentColor" stroke-width="1.6"/>',
  muted: '<path d="M3 7.5h3.5L11 4v12l-4.5-3.5H3z"/><path d="M13.5 7.5l5 5M18.5 7.5l-5 5" stroke="currentColor" stroke-width="1.6"/>',
};
const icon = (name) => `<svg viewBox="0 0 20 20" width="18" height="18" fill="currentColor">${ICONS[name]}</svg>`;

function renderMute() {
  $("#mute").innerHTML = icon(video.muted ? "muted" : "sound");
  $("#mute").classList.toggle("on", video.muted);
}

function renderPlayButton() {
  $("#play").innerHTML = icon(video.paused ? "play" : "pause");
}

document.addEventListener("keydown", (e) => {
  if (e.target.closest("input, textarea, select, [contenteditable]")) return;
  const key = e.key.toLowerCase();
  if ((e.ctrlKey || e.metaKey) && key === "z") {
    e.preventDefault();
    if (!e.repeat) undo();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (key === " ") {
    e.preventDefault();
    togglePlay();
  } else if (key === "arrowleft" || key === "arrowright") {
    e.preventDefault();
    const delta = key === "arrowleft" ? -1 : 1;
    if (e.shiftKey) {
      if (!e.repeat || pending === 0) moveNearestCut(delta);
    } else step(delta);
  } else if (KEY_ACTIONS[key] && !e.shiftKey) {
    e.preventDefault();
    if (!e.repeat) act(KEY_ACTIONS[key]);
  } else if (key === "[" || key === "]") {
    const i = SPEEDS.indexOf(speed);
    setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 2 : i) + (key === "[" ? -1 : 1)))]);
  } else if (key === "u") {
    video.muted = !video.muted;
    renderMute();
  } else if (key === "r" && !state.clip) {
    enqueue(refreshIfEmpty);
  }
});

document.querySelectorAll("#actions button").forEach((b) =>
  b.addEventListener("click", () => {
    b.blur(); // keep the keyboard on the page, not on a focused button (Space would click it again)
    act(b.dataset.action);
  }),
);
document.querySelectorAll("#speeds button").forEach((b) =>
  b.addEventListener("click", () => {
    b.blur();
    setSpeed(+b.dataset.speed);
  }),
);
$("#play").addEventListener("click", (e) => (e.currentTarget.blur(), togglePlay()));
$("#prev-frame").addEventListener("click", (e) => (e.currentTarget.blur(), step(-1)));
$("#next-frame").addEventListener("click", (e) => (e.currentTarget.blur(), step(1)));
$("#mute").addEventListener("click", (e) => {
  e.currentTarget.blur();
  video.muted = !video.muted;
  renderMute();
});
$("#check-again").addEventListener("click", () => enqueue(refreshIfEmpty));
video.addEventListener("click", togglePlay);
video.addEventListener("play", renderPlayButton);
video.addEventListener("pause", renderPlayButton);
video.addEventListener("timeupdate", renderPlayhead);
video.addEventListener("seeked", renderPlayhead);
window.addEventListener("resize", renderTimeline);

// Frame-accurate readout while playing, where the browser can tell us about each presented frame.
if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
  const onFrame = () => {
    renderPlayhead();
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}

// For tests and for other panels (e.g. similar clips): read-only access to the page's state.
window.heaters = { state: () => state, pending: () => pending, currentFrame, video };

setSpeed(1);
renderMute();
renderPlayButton();
show(state);
