// The review page's similar-clips panel. A clip under review has no embedding of its own, so the server
// answers with clips like the nearest embedded clip of the same video (see
// heaters.services.library.review_neighbour); with none, the panel stays hidden. One cheap request per
// clip change, the previous one cancelled.

import { clipCard, getJSON } from "./clipcards.js";

const panel = document.querySelector("#similar-clips[data-hook=similar-clips]");
let shownFor = null;
let inFlight = null;

async function update(state) {
  const clip = state && state.clip;
  if (!clip) {
    shownFor = null;
    panel.hidden = true;
    return;
  }
  if (clip.id === shownFor) return;
  shownFor = clip.id;
  if (inFlight) inFlight.abort();
  inFlight = new AbortController();
  let data;
  try {
    data = await getJSON(`/api/review/clips/${clip.id}/similar?k=3`, inFlight.signal);
  } catch {
    return; // a cancelled or failed lookup leaves the panel as it was: it is a hint, not the task
  }
  if (!data.anchor || !data.hits.length) {
    panel.hidden = true;
    return;
  }
  const head = document.createElement("div");
  head.className = "similar-head";
  const title = document.createElement("h3");
  title.textContent = "Similar clips";
  const note = document.createElement("span");
  note.className = "muted small";
  const a = data.anchor;
  note.textContent = a.same_clip
    ? "like this clip"
    : `like #${a.clip_id}, ${Math.abs(a.offset_seconds).toFixed(1)} s ${a.offset_seconds < 0 ? "before" : "after"}`;
  note.title = "Clips under review have no embedding yet: these resemble the nearest embedded clip of this video.";
  head.append(title, note);
  const grid = document.createElement("div");
  grid.className = "similar-grid";
  grid.append(...data.hits.map((h) => clipCard(h, { compact: true })));
  panel.replaceChildren(head, grid);
  panel.hidden = false;
}

document.addEventListener("heaters:clip", (e) => update(e.detail));
// review.js showed its first clip before this module ran: start from its current state.
if (window.heaters) update(window.heaters.state());
