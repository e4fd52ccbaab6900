// Clip cards shared by the library page and the review page's similar-clips panel: a keyframe thumbnail
// that turns into the exported clip (muted, looping) while the pointer is over it.

export async function getJSON(url, signal) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, signal });
  if (response.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    throw new Error("signed out");
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || data.detail || `request failed (${response.status})`);
  return data;
}

export function formatTime(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${m}:${s.toFixed(2).padStart(5, "0")}`;
}

export const stateLabel = (state) => state.replaceAll("_", " ");

const DOWNLOAD_ICON =
  '<svg viewBox="0 0 20 20" width="16" height="16" fill="none" stroke="currentColor" stroke-width="1.7" ' +
  'stroke-linecap="round" stroke-linejoin="round"><path d="M10 3v10M5.5 8.5 10 13l4.5-4.5M4 16.5h12"/></svg>';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// Hover (or keyboard focus) plays the exported clip in place of the thumbnail; leaving stops it. The
// <video> gets its src only on first hover, so a page of cards costs thumbnails only.
export function hoverToPlay(thumb, url) {
  const video = thumb.querySelector("video");
  const bar = thumb.querySelector(".progress span");
  const start = () => {
    if (!video.getAttribute("src")) video.src = url;
    thumb.classList.add("hover");
    video.play().catch(() => {});
  };
  const stop = () => {
    thumb.classList.remove("hover", "playing");
    video.pause();
    if (video.readyState > 0) video.currentTime = 0;
  };
  video.addEventListener("playing", () => thumb.classList.contains("hover") && thumb.classList.add("playing"));
  video.addEventListener("timeupdate", () => {
    if (video.duration) bar.style.width = `${(100 * video.currentTime) / video.duration}%`;
  });
  thumb.addEventListener("pointerenter", start);
  thumb.addEventListener("pointerleave", stop);
  thumb.addEventListener("focusin", start);
  thumb.addEventListener("focusout", stop);
}

// One card. `clip` is a library clip or a search hit (same fields, hits add similarity).
// options: {compact, onSimilar(clip), self}
export function clipCard(clip, options = {}) {
  const card = el("article", `clip-card${options.compact ? " compact" : ""}${options.self ? " self" : ""}`);
  card.dataset.clipId = clip.clip_id;

  const thumb = el("a", "thumb");
  thumb.href = clip.export_url;
  thumb.target = "_blank";
  thumb.title = `Clip ${clip.clip_id}: hover to play, click to open`;
  if (clip.thumbnail_url) {
    const img = el("img");
    img.src = clip.thumbnail_url;
    img.alt = "";
    img.loading = "lazy";
    img.decoding = "async";
    thumb.append(img);
  } else {
    thumb.append(el("div", "no-thumb", "keyframes pending"));
  }
  const video = el("video");
  video.muted = true;
  video.loop = true;
  video.playsInline = true;
  video.preload = "none";
  thumb.append(video);
  thumb.append(el("span", "duration", `${clip.duration_seconds.toFixed(1)} s`));
  if (clip.similarity !== undefined) {
    const sim = el("span", "similarity", options.self ? "this clip" : `${Math.round(clip.similarity * 100)}%`);
    sim.title = `cosine similarity ${clip.similarity.toFixed(3)}`;
    thumb.append(sim);
  }
  const progress = el("span", "progress");
  progress.append(el("span"));
  thumb.append(progress);
  hoverToPlay(thumb, clip.export_url);
  card.append(thumb);

  const meta = el("div", "meta");
  const title = el("div", "title");
  title.append(el("b", "", `#${clip.clip_id}`), el("span", "", clip.video_title));
  title.title = clip.video_title;
  meta.append(title);
  if (!options.compact) {
    meta.append(
      el(
        "div",
        "sub",
        `${formatTime(clip.start_seconds)} – ${formatTime(clip.end_seconds)} · frames ${clip.start_frame}–${clip.end_frame - 1}`,
      ),
    );
    const row = el("div", "row");
    row.append(el("span", `badge ${clip.state}`, stateLabel(clip.state)), el("span", "spacer"));
    if (options.onSimilar) {
      const button = el("button", "similar-btn", "Similar");
      button.type = "button";
      button.disabled = !clip.searchable;
      button.title = clip.searchable ? "Find clips that look like this one" : "Not embedded yet";
      button.addEventListener("click", () => options.onSimilar(clip));
      row.append(button);
    }
    const download = el("a", "button icon-button download");
    download.href = clip.download_url;
    download.title = "Download the exported clip";
    download.setAttribute("download", "");
    download.innerHTML = DOWNLOAD_ICON;
    row.append(download);
    meta.append(row);
  }
  card.append(meta);
  return card;
}
