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
const queueVideo = state.queue_video ?? null; // a per-video queue (/review?video=ID) stays one
const queryOfQueue = () => (queueVideo !== null ? `?video=${queueVideo}` : "");
let speed = 1;
let ready = false; // the shown clip's first frame is on screen: decision keys act only then
let nudging = null; // {clipId, cut}: the cut Shift+←/→ moves, remembered while the reviewer keeps nudging
let gotoBuffer = ""; // digits typed: Enter goes to that frame of the clip
let zoomed = true; // the timeline zooms around the current clip when the video is long
let live = null; // the EventSource of the shown video's timeline
let liveFor = null;
let queue = Promise.resolve(); // actions run one after another, in key-press order
let pending = 0;
let emptyPoll = null;
const prefetched = new Map(); // video url -> {promise, blobUrl}
let suggestions = { videoId: null, items: [] }; // the detector's near-misses of the shown video (suggested cuts)
// Keys that move the playhead, pressed while an action that keeps the playhead (K, a nudge, undo) is on its way
// or its clip is loading: held, then replayed in order from the kept frame once it is on screen — otherwise the
// page's late seek to the kept frame would undo them.
let navHeld = null;
let keepSeekPending = false;

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
      if (!pending && !keepSeekPending) releaseNavigation();
    });
  return queue;
}

function holdNavigation() {
  if (navHeld === null) navHeld = [];
}

function releaseNavigation() {
  const held = navHeld;
  navHeld = null;
  if (held) held.forEach((move) => move());
}

function navigate(move) {
  if (navHeld !== null) navHeld.push(move);
  else move();
}

// --- prefetch ----------------------------------------------------------------------------------

let prefetch = function (url) {
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
};

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
  // The middle of the frame's display interval (robust to float rounding either way), but never past the
  // media's end: the last frame of a video-only clip starts at its duration.
  const t = (frame + 0.5) / fps();
  video.currentTime = Number.isFinite(video.duration) && video.duration > 0 ? Math.min(t, video.duration) : t;
}

function markReady() {
  if (state.clip && !ready) {
    ready = true;
    document.body.classList.remove("loading");
  }
}

function show(next, { keepAbsFrame = null } = {}) {
  const wasPaused = video.paused && keepAbsFrame !== null;
  const previousId = state.clip && state.clip.id;
  state = next;
  const clip = state.clip;
  if (!clip || clip.id !== previousId) nudging = null;
  $("#empty").hidden = !!clip;
  document.body.classList.toggle("queue-empty", !clip);
  document.querySelectorAll("#actions button").forEach((b) => {
    b.disabled = !clip ? b.dataset.action !== "undo" : !!clip.held_by && b.dataset.action !== "undo";
  });
  renderHeld();
  renderContextPanel();
  renderTimeline();
  listen();
  (state.upcoming || []).forEach((u) => prefetch(u.video_url));
  if (!clip) {
    ready = false;
    keepSeekPending = false;
    video.removeAttribute("src");
    video.load();
    history.replaceState(null, "", "/review" + queryOfQueue());
    if (!emptyPoll) emptyPoll = setInterval(() => enqueue(refreshIfEmpty), 5000);
    return;
  }
  if (emptyPoll) {
    clearInterval(emptyPoll);
    emptyPoll = null;
  }
  history.replaceState(null, "", `/review/${clip.id}${queryOfQueue()}`);
  if (state.video.width && state.video.height) {
    $(".player-wrap").style.aspectRatio = `${state.video.width} / ${state.video.height}`;
  }
  if (clip.id !== previousId || !video.src) {
    ready = false;
    document.body.classList.add("loading");
    prefetch(clip.video_url);
    video.src = sourceFor(clip.video_url);
    video.playbackRate = speed;
    // The playhead stays on the same video frame when the new clip holds it (a split, a nudge); else its
    // nearest frame inside the clip.
    const keep =
      keepAbsFrame === null ? null : Math.max(clip.start_frame, Math.min(clip.end_frame - 1, keepAbsFrame));
    keepSeekPending = true;
    video.addEventListener(
      "loadedmetadata",
      () => {
        video.playbackRate = speed;
        if (keep !== null) seekFrame(keep - clip.start_frame);
        if (!wasPaused) play();
        keepSeekPending = false;
        if (!pending) releaseNavigation(); // keys pressed meanwhile move on from the kept frame
      },
      { once: true },
    );
    video.addEventListener("loadeddata", markReady, { once: true });
  }
  if (clip.video_id !== suggestions.videoId) loadSuggestions(clip.video_id);
  document.dispatchEvent(new CustomEvent("heaters:clip", { detail: state }));
}

async function refreshIfEmpty() {
  if (!state.clip) show(await api("GET", "/api/review/next" + queryOfQueue()));
}

function renderHeld() {
  const held = $("#held");
  const clip = state.clip;
  held.hidden = !(clip && clip.held_by);
  held.textContent = clip && clip.held_by ? `Being reviewed by ${clip.held_by} until ${clip.held_until}: you can watch it, not act on it.` : "";
}

// --- the live timeline: every change to the shown video's clips, by anyone, arrives here

function listen() {
  const url = state.clip ? state.video.live_url : null;
  if (url === liveFor) return;
  if (live) live.close();
  live = null;
  liveFor = url;
  if (!url) return;
  live = new EventSource(url);
  live.addEventListener("timeline", (e) => {
    const data = JSON.parse(e.data);
    // while one of our own actions is on its way, its answer brings the fresh timeline
    if (!state.clip || data.video_id !== state.clip.video_id || pending > 0) return;
    window.heaters.liveUpdates += 1;
    const mine = data.timeline.find((c) => c.id === state.clip.id);
    state.timeline = data.timeline;
    if (!mine) {
      // the clip on screen was replaced by someone's cut: show the clip that now holds its first frame
      const id = state.clip.id;
      enqueue(async () => show(await api("GET", `/api/review/clips/${id}${queryOfQueue()}`)));
      return;
    }
    state.clip.state = mine.state;
    state.clip.group_id = mine.group_id;
    state.clip.count = data.timeline.length;
    state.clip.position = data.timeline.findIndex((c) => c.id === mine.id) + 1;
    renderContextPanel();
    renderTimeline();
  });
}

let wantPlaying = false; // playing, not paused by the reviewer: what decides looping at the end

function play() {
  wantPlaying = true;
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
    for (const id of ["#frame-now", "#frame-total", "#abs-frame", "#time-now"]) set(id, "–");
    $("#clip-state").className = "badge";
    set("#video-title", queueVideo !== null ? "This video's queue is empty" : "Queue empty");
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
  const scrub = $("#scrub");
  scrub.max = clip.frames - 1;
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
  const [from, to] = viewWindow();
  const span = to - from;
  const pct = (frame) => `${(100 * (frame - from)) / span}%`;
  const width = timeline.clientWidth || 800;
  const aspect = state.video.width && state.video.height ? state.video.width / state.video.height : 16 / 9;
  const tiles = Math.max(4, Math.min(60, Math.round(width / (timeline.clientHeight * aspect || 128))));
  const stripUrl = `${state.video.strip_url}?tiles=${tiles}`;
  if (stripFor !== stripUrl) {
    $("#strip").src = stripUrl;
    stripFor = stripUrl;
  }
  // zoomed: the strip of the whole video is stretched and shifted so that the window fills the timeline
  $("#strip").style.width = `${(100 * total) / span}%`;
  $("#strip").style.left = `${(-100 * from) / span}%`;
  timeline.classList.toggle("zoomed", span < total);
  $("#zoom-label").textContent = span < total ? `frames ${from}–${to - 1} of ${total}` : "whole video";
  const segments = $("#segments");
  segments.replaceChildren(
    ...state.timeline.filter((c) => c.end > from && c.start < to).map((c) => {
      const el = document.createElement("div");
      el.className = `seg ${c.state}${c.id === clip.id ? " current" : ""}${c.group_id ? " grouped" : ""}`;
      // clipped to the window the timeline shows
      const start = Math.max(c.start, from);
      el.style.left = pct(start);
      el.style.width = `${(100 * (Math.min(c.end, to) - start)) / span}%`;
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
    ...state.timeline.slice(1).filter((c) => c.start >= from && c.start <= to).map((c) => {
      const el = document.createElement("div");
      el.className = `cut${nudging && nudging.cut === c.start ? " nudging" : ""}`;
      el.style.left = pct(c.start);
      el.dataset.frame = c.start;
      el.title = `cut at frame ${c.start} — drag to move`;
      el.addEventListener("pointerdown", (e) => dragCut(e, el, c.start));
      return el;
    }),
  );
  // the detector's suggested cuts (below its threshold): marked, not draggable; C reviews them, K adds one
  const cutFrames = new Set(state.timeline.slice(1).map((c) => c.start));
  cuts.append(
    ...(suggestions.videoId === clip.video_id ? suggestions.items : [])
      .filter((s) => !cutFrames.has(s.frame) && s.frame >= from && s.frame <= to)
      .map((s) => {
        const el = document.createElement("div");
        el.className = "suggested-cut";
        el.style.left = pct(s.frame);
        el.dataset.frame = s.frame;
        const score = s.confidence === null ? "" : ` (confidence ${s.confidence.toFixed(2)})`;
        el.title = `suggested cut at frame ${s.frame}${score} — not a cut: C reviews it, K on it adds it`;
        return el;
      }),
  );
  renderPlayhead();
}

async function loadSuggestions(videoId) {
  suggestions = { videoId, items: suggestions.videoId === videoId ? suggestions.items : [] };
  try {
    const data = await api("GET", `/api/review/videos/${videoId}/cuts`);
    if (suggestions.videoId !== videoId) return; // another video is on screen by now
    suggestions.items = data.items.filter((i) => i.suggested).map((i) => ({ frame: i.frame, confidence: i.confidence }));
    renderTimeline();
  } catch {
    // suggestions are a hint: the timeline works without them
  }
}

function renderPlayhead() {
  if (!state.clip) return;
  const frame = currentFrame();
  const abs = state.clip.start_frame + frame;
  const [from, to] = viewWindow();
  $("#playhead").style.left = `${(100 * (abs + 0.5 - from)) / (to - from)}%`;
  $("#frame-now").textContent = gotoBuffer ? `${gotoBuffer}…` : frame;
  $("#abs-frame").textContent = abs;
  $("#time-now").textContent = video.currentTime.toFixed(2);
  $("#scrub").value = frame;
}

// The frames the timeline shows: the whole video, or — zoomed, on a long video — a window around the clip
// wide enough that a cut can be placed to the frame (at least MIN_PX_PER_FRAME).
const MIN_PX_PER_FRAME = 4;
function viewWindow() {
  const total = state.video.frames;
  const width = timeline.clientWidth || 800;
  if (!zoomed || !state.clip || total * MIN_PX_PER_FRAME <= width) return [0, total];
  const clip = state.clip;
  const span = Math.min(total, Math.max(Math.ceil(width / MIN_PX_PER_FRAME), 3 * (clip.end_frame - clip.start_frame)));
  const middle = (clip.start_frame + clip.end_frame) / 2;
  const from = Math.max(0, Math.min(total - span, Math.round(middle - span / 2)));
  return [from, from + span];
}

function dragCut(event, el, fromFrame) {
  event.preventDefault();
  el.setPointerCapture(event.pointerId);
  el.classList.add("dragging");
  const rect = timeline.getBoundingClientRect();
  const total = state.video.frames;
  const [from, to] = viewWindow();
  const preview = $("#drag-preview");
  const frameUrl = (frame) => `/videos/${state.video.id}/frame.jpg?frame=${frame}`;
  let toFrame = fromFrame;
  const move = (e) => {
    const x = Math.max(0, Math.min(rect.width, e.clientX - rect.left));
    toFrame = Math.max(1, Math.min(total - 1, from + Math.round((x / rect.width) * (to - from))));
    el.style.left = `${(100 * (toFrame - from)) / (to - from)}%`;
    el.dataset.label = toFrame;
    // the frame under the cursor: the first frame of the clip after the cut
    preview.hidden = false;
    preview.style.left = `${x}px`;
    $("#drag-preview-frame").textContent = `frame ${toFrame}`;
    const img = $("#drag-preview img");
    if (img.dataset.frame !== String(toFrame)) {
      img.dataset.frame = toFrame;
      img.src = frameUrl(toFrame);
    }
  };
  const up = () => {
    el.removeEventListener("pointermove", move);
    el.classList.remove("dragging");
    preview.hidden = true;
    if (toFrame !== fromFrame) act("move_cut", { frame: fromFrame, to_frame: toFrame });
    else renderTimeline();
  };
  el.addEventListener("pointermove", move);
  el.addEventListener("pointerup", up, { once: true });
}

// --- actions -----------------------------------------------------------------------------------

// A decision acts on the clip the reviewer sees: keys pressed while an action is on its way or before the
// next clip's first frame is on screen are ignored (and the page says so).
function canDecide({ needFrame = true } = {}) {
  if (!state.clip) return false;
  if (pending > 0 || (needFrame && !ready)) {
    notice("wait for the clip to show before deciding", "error");
    return false;
  }
  return true;
}

function act(action, extra = {}) {
  if (action === "undo") return undo();
  if (!canDecide()) return;
  if (CUT_ACTIONS.has(action)) holdNavigation();
  return enqueue(async () => {
    const clip = state.clip;
    if (!clip) return;
    const absFrame = clip.start_frame + currentFrame();
    const body = { action, ...extra };
    if (action === "split") body.frame = absFrame;
    const answer = await api("POST", `/api/clips/${clip.id}/actions${queryOfQueue()}`, body);
    notice(answer.result.message, "ok");
    show(answer.state, { keepAbsFrame: CUT_ACTIONS.has(action) ? absFrame : null });
    if (CUT_ACTIONS.has(action) && state.clip) loadSuggestions(state.clip.video_id);
    afterAction();
  });
}

// Shift+←/→ nudges one cut of the clip on screen: the first press takes the clip's boundary nearest to the
// playhead; further presses move that same cut (the page sends its exact frame), wherever the playhead is.
function nudge(delta) {
  // a nudge re-cuts the clip on screen: it waits for the previous answer, not for the re-cut clip's video
  if (!canDecide({ needFrame: false })) return;
  const clip = state.clip;
  const absFrame = clip.start_frame + currentFrame();
  const cuts = new Set(state.timeline.slice(1).map((c) => c.start));
  let cut = nudging && nudging.clipId === clip.id && cuts.has(nudging.cut) ? nudging.cut : null;
  if (cut === null) {
    const bounds = [clip.start_frame, clip.end_frame].filter((f) => cuts.has(f));
    if (!bounds.length) return notice("this clip has no cut to move", "error");
    cut = bounds.reduce((a, b) => (Math.abs(b - absFrame) < Math.abs(a - absFrame) ? b : a));
  }
  const target = cut + delta;
  holdNavigation();
  enqueue(async () => {
    const answer = await api("POST", `/api/clips/${clip.id}/actions${queryOfQueue()}`, {
      action: "move_cut",
      frame: cut,
      to_frame: target,
    });
    show(answer.state, { keepAbsFrame: absFrame });
    nudging = state.clip ? { clipId: state.clip.id, cut: target } : null;
    const now = state.clip;
    const past = now && (absFrame < now.start_frame || absFrame >= now.end_frame);
    notice(
      answer.result.message + (past ? ` · the cut passed the playhead (frame ${absFrame}): now on the clip's ${absFrame < now.start_frame ? "first" : "last"} frame` : ""),
      past ? "warn" : "ok",
    );
    renderTimeline();
    afterAction();
  });
}

function undo(eventId = null) {
  holdNavigation();
  return enqueue(async () => {
    const absFrame = state.clip ? state.clip.start_frame + currentFrame() : null;
    const answer = await api("POST", "/api/undo" + queryOfQueue(), eventId === null ? {} : { event_id: eventId });
    notice(answer.result.message, "ok");
    show(answer.state, { keepAbsFrame: answer.result.action === "undo" ? absFrame : null });
    afterAction();
  });
}

// --- cut review: walk the video's cuts and suggested cuts, least confident first, frames either side

let cutMode = null; // {videoId, items, index}

async function loadCuts(index = 0) {
  const videoId = state.clip ? state.clip.video_id : cutMode && cutMode.videoId;
  const data = await api("GET", `/api/review/videos/${videoId}/cuts`);
  cutMode = { videoId, items: data.items, index: Math.max(0, Math.min(index, data.items.length - 1)) };
  renderCutReview();
}

function toggleCutReview() {
  if (cutMode) {
    cutMode = null;
    renderCutReview();
  } else if (state.clip) enqueue(() => loadCuts(0));
}

function renderCutReview() {
  const panel = $("#cut-review");
  panel.hidden = !cutMode;
  document.body.classList.toggle("cut-mode", !!cutMode);
  if (!cutMode) return;
  const item = cutMode.items[cutMode.index];
  if (!item) {
    $("#cr-index").textContent = "";
    $("#cr-what").textContent = "no cuts to review in this video";
    return;
  }
  $("#cr-index").textContent = `${cutMode.index + 1} of ${cutMode.items.length}`;
  const confidence = item.confidence === null ? "no detector score" : `confidence ${item.confidence.toFixed(2)}`;
  $("#cr-what").textContent = `${item.suggested ? "suggested cut" : "cut"} at frame ${item.frame} · ${item.kind || "made by a reviewer"} · ${confidence}`;
  panel.dataset.frame = item.frame;
  panel.dataset.suggested = item.suggested;
  $("#cr-before").src = item.before_url;
  $("#cr-after").src = item.after_url;
  $("#cr-before-label").textContent = `frame ${item.frame - 1} · last before`;
  $("#cr-after-label").textContent = `frame ${item.frame} · first after`;
}

function cutReviewKey(key) {
  const item = cutMode.items[cutMode.index];
  const next = (step) => {
    cutMode.index = Math.max(0, Math.min(cutMode.items.length - 1, cutMode.index + step));
    renderCutReview();
  };
  if (key === "arrowright" || key === "arrowleft") return next(key === "arrowright" ? 1 : -1), true;
  if (key === "c" || key === "escape") return toggleCutReview(), true;
  if (!item) return false;
  if (key === "enter") {
    if (cutMode.index >= cutMode.items.length - 1) notice("cut review: that was the last cut", "ok");
    return next(1), true;
  }
  const action = key === "m" && !item.suggested ? { action: "merge" } : key === "k" && item.suggested ? { action: "split", frame: item.frame } : null;
  if (!action) {
    if (key === "m" || key === "k") notice(key === "m" ? "a suggested cut is not a cut yet: K adds it" : "this cut exists: M removes it", "error");
    return key === "m" || key === "k";
  }
  if (pending > 0) return true;
  const index = cutMode.index;
  enqueue(async () => {
    const answer = await api("POST", `/api/clips/${item.clip_id}/actions${queryOfQueue()}`, action);
    notice(answer.result.message, "ok");
    show(answer.state);
    // a removed cut leaves the list (the same place now shows the next); an added one stays, now a cut
    await loadCuts(action.action === "split" ? index + 1 : index);
    afterAction();
  });
  return true;
}

// --- the history panel: the reviewer's own recent actions; any entry can be undone while that is legal

let historyOpen = false;
function afterAction() {
  if (historyOpen) loadHistory();
}

async function loadHistory() {
  const data = await api("GET", "/api/review/history");
  const list = $("#history-list");
  list.replaceChildren(
    ...data.entries.map((e) => {
      const li = document.createElement("li");
      li.dataset.eventId = e.event_id;
      li.className = e.undone ? "undone" : "";
      const text = document.createElement("span");
      text.textContent = `${e.at} · ${e.summary}${e.undone ? " (undone)" : ""}`;
      li.append(text);
      if (!e.undone) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = "undo";
        b.addEventListener("click", () => (b.blur(), undo(e.event_id)));
        li.append(b);
      }
      return li;
    }),
  );
}

function toggleHistory() {
  historyOpen = !historyOpen;
  $("#history").hidden = !historyOpen;
  if (historyOpen) enqueue(loadHistory);
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

function pause() {
  wantPlaying = false;
  video.pause();
}

function togglePlay() {
  if (video.paused) play();
  else pause();
}

function goTo(frame) {
  if (!state.clip) return;
  pause();
  seekFrame(Math.max(0, Math.min(state.clip.frames - 1, frame)));
}

function step(delta) {
  if (!state.clip) return;
  goTo(currentFrame() + delta);
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
  if (cutMode && cutReviewKey(key)) {
    e.preventDefault();
    return;
  }
  if (/^[0-9]$/.test(key) && state.clip) {
    gotoBuffer = (gotoBuffer + key).slice(0, 6);
    renderPlayhead();
    return;
  }
  if (gotoBuffer && (key === "enter" || key === "escape" || key === "backspace")) {
    e.preventDefault();
    if (key === "backspace") gotoBuffer = gotoBuffer.slice(0, -1);
    else {
      const frame = parseInt(gotoBuffer, 10);
      if (key === "enter") navigate(() => goTo(frame));
      gotoBuffer = "";
    }
    renderPlayhead();
    return;
  }
  if (key === " ") {
    e.preventDefault();
    togglePlay();
  } else if (key === "arrowleft" || key === "arrowright") {
    e.preventDefault();
    const delta = key === "arrowleft" ? -1 : 1;
    if (e.shiftKey) {
      if (!e.repeat) nudge(delta);
    } else {
      nudging = null;
      navigate(() => step(delta));
    }
  } else if (key === "arrowup" || key === "arrowdown") {
    e.preventDefault();
    navigate(() => step(key === "arrowup" ? 10 : -10));
  } else if (key === "j" || key === "l") {
    navigate(() => step(Math.round(fps()) * (key === "j" ? -1 : 1)));
  } else if (key === "home" || key === "end") {
    e.preventDefault();
    navigate(() => goTo(key === "home" ? 0 : state.clip ? state.clip.frames - 1 : 0));
  } else if (key === "z") {
    zoomed = !zoomed;
    renderTimeline();
  } else if (key === "h") {
    toggleHistory();
  } else if (key === "c") {
    toggleCutReview();
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
$("#history-close").addEventListener("click", (e) => (e.currentTarget.blur(), toggleHistory()));
$("#scrub").addEventListener("input", (e) => goTo(+e.currentTarget.value));
$("#scrub").addEventListener("change", (e) => e.currentTarget.blur());
video.addEventListener("click", togglePlay);
// Looping by hand: with the loop attribute, a seek to the last frame of a video-only clip would wrap to frame 0.
video.addEventListener("ended", () => {
  if (!state.clip || !wantPlaying) return; // a seek to the last frame also "ends" the media: stay there
  video.currentTime = 0;
  play();
});
video.addEventListener("loadeddata", markReady);
video.addEventListener("error", () => {
  // a clip that cannot load never gets its kept frame: held keys must not wait for it
  keepSeekPending = false;
  if (!pending) releaseNavigation();
});
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
window.heaters = {
  state: () => state,
  pending: () => pending,
  ready: () => ready,
  navigationHeld: () => navHeld !== null,
  suggestedCuts: () => suggestions.items.map((s) => s.frame),
  currentFrame,
  video,
  liveUpdates: 0,
  // tests: forget the fetched-ahead videos, so the next clip's video is fetched when shown
  dropPrefetched: () => {
    for (const [, entry] of prefetched) if (entry.blobUrl && video.src !== entry.blobUrl) URL.revokeObjectURL(entry.blobUrl);
    prefetched.clear();
    prefetch = () => {};
  },
};

setSpeed(1);
renderMute();
renderPlayButton();
show(state);
