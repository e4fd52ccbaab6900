// The library page: exported clips as cards (filter by video and state, "Show more" pages), similar clips
// for a card, and text search. Filters live in the URL so a reload or a shared link shows the same view.

import { clipCard, getJSON, stateLabel } from "./clipcards.js";

const $ = (sel) => document.querySelector(sel);
const initial = JSON.parse($("#initial-state").textContent);
const filters = { ...initial.filters };
let nextOffset = initial.page.next_offset;
let loading = null; // AbortController of the list request in flight

// --- the grid ----------------------------------------------------------------------------------

function renderGrid(page, { append = false } = {}) {
  const cards = page.clips.map((c) => clipCard(c, { onSimilar: showSimilar }));
  if (append) $("#grid").append(...cards);
  else $("#grid").replaceChildren(...cards);
  nextOffset = page.next_offset;
  $("#more").hidden = nextOffset === null;
  const shown = $("#grid").children.length;
  $("#library-count").textContent = page.total ? `${shown} of ${page.total} clips` : "";
  $("#empty-library").hidden = page.total > 0;
}

function query(extra = {}) {
  const params = new URLSearchParams();
  if (filters.video) params.set("video", filters.video);
  if (filters.state) params.set("state", filters.state);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return params.toString();
}

async function reload() {
  if (loading) loading.abort();
  loading = new AbortController();
  const page = await getJSON(`/api/library?${query({ limit: initial.page_size })}`, loading.signal);
  history.replaceState(null, "", `/library${query() ? "?" + query() : ""}`);
  renderGrid(page);
  renderStates(page.counts);
}

async function more() {
  if (nextOffset === null) return;
  const button = $("#more");
  button.disabled = true;
  try {
    renderGrid(await getJSON(`/api/library?${query({ offset: nextOffset, limit: initial.page_size })}`), {
      append: true,
    });
  } finally {
    button.disabled = false;
  }
}

// --- filters -----------------------------------------------------------------------------------

function renderVideos() {
  const select = $("#filter-video");
  for (const v of initial.videos) {
    const option = new Option(`${v.title} (${v.clips})`, v.id);
    option.selected = v.id === filters.video;
    select.append(option);
  }
  select.addEventListener("change", () => {
    filters.video = select.value ? +select.value : null;
    reload().catch(showError);
  });
}

function renderStates(counts) {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const chip = (state, label, count) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = `chip${(filters.state || null) === state ? " on" : ""}`;
    button.innerHTML = `<span></span><small></small>`;
    button.firstChild.textContent = label;
    button.lastChild.textContent = count;
    button.addEventListener("click", () => {
      filters.state = state;
      reload().catch(showError);
    });
    return button;
  };
  const chips = [chip(null, "all", total)];
  for (const state of initial.states) {
    if (counts[state] || filters.state === state) chips.push(chip(state, stateLabel(state), counts[state] || 0));
  }
  $("#filter-state").replaceChildren(...chips);
}

// --- similar clips and text search -------------------------------------------------------------

function showResults(title, hits, selfId = null) {
  $("#results-title").textContent = title;
  const cards = hits.map((h) => clipCard(h, { onSimilar: showSimilar, self: h.clip_id === selfId }));
  $("#results-grid").replaceChildren(...cards);
  if (!hits.length) $("#results-grid").append(Object.assign(document.createElement("p"), {
    className: "muted", textContent: "Nothing embedded yet to compare with.",
  }));
  $("#results").hidden = false;
  $("#results").scrollIntoView({ behavior: "smooth", block: "start" });
}

async function showSimilar(clip) {
  hideError();
  try {
    const data = await getJSON(`/api/clips/${clip.clip_id}/similar?k=12`);
    showResults(`Clips like #${clip.clip_id} · ${clip.video_title}`, data.hits, clip.clip_id);
  } catch (err) {
    showError(err);
  }
}

async function search(event) {
  event.preventDefault();
  const text = $("#search-text").value.trim();
  if (!text) return;
  hideError();
  const button = $("#search-form button");
  button.disabled = true;
  try {
    const data = await getJSON(`/api/search?${new URLSearchParams({ text, k: 12 })}`);
    showResults(`Matches for “${text}”`, data.hits);
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
}

function showError(err) {
  if (err.name === "AbortError") return;
  const box = $("#search-error");
  box.textContent = err.message;
  box.hidden = false;
}

function hideError() {
  $("#search-error").hidden = true;
}

$("#search-form").addEventListener("submit", search);
$("#results-close").addEventListener("click", () => ($("#results").hidden = true));
$("#more").addEventListener("click", () => more().catch(showError));
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") {
    $("#results").hidden = true;
    hideError();
  } else if (e.key === "/" && !e.target.closest("input, textarea, select")) {
    e.preventDefault();
    $("#search-text").focus();
  }
});

renderVideos();
renderStates(initial.counts);
renderGrid(initial.page);
