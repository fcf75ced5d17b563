// shotbuild review: the page. Plain DOM, no framework, nothing from the network
// but this page's own server (or, in a static export, the files beside it).
// Every text from the spec goes in through textContent, never as HTML.
"use strict";

(function () {
  const config = window.REVIEW || { mode: "server" };
  const isStatic = config.mode === "static";
  const token = new URLSearchParams(location.search).get("t") || "";
  const POLL_MS = 500;
  const state = { model: null, current: 0, playingAll: false, nodes: new Map(), views: new Map() };

  // -- small DOM helpers -------------------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key in node && typeof value !== "string") node[key] = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function hash(text) {
    let h = 0;
    for (let i = 0; i < text.length; i++) h = (Math.imul(31, h) + text.charCodeAt(i)) | 0;
    return (h >>> 0).toString(36);
  }

  function toast(text, bad) {
    const box = document.getElementById("toast");
    box.textContent = text;
    box.className = bad ? "show bad" : "show";
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.className = ""; }, 3000);
  }

  // -- where media lives: by shot name and take, never a path ------------------
  function mediaUrl(shot, take, version) {
    if (isStatic) return (config.media[shot.name] || {})[String(take)] || "";
    const q = new URLSearchParams({ t: token, v: version });
    return `media/${encodeURIComponent(shot.name)}/${encodeURIComponent(take)}?${q}`;
  }

  function refUrl(shot, index) {
    if (isStatic) return (config.refs[shot.name] || {})[String(index)] || "";
    return `ref/${encodeURIComponent(shot.name)}/${index}?${new URLSearchParams({ t: token })}`;
  }

  // What the main player shows: the picked take if its video is here, else the preview.
  function playable(shot) {
    const picked = shot.takes.find((t) => t.picked && t.available);
    if (picked) return { take: String(picked.number), preview: false };
    if (shot.preview) return { take: "preview", preview: true };
    return null;
  }

  // -- one shot ----------------------------------------------------------------
  function player(shot, version) {
    const what = playable(shot);
    if (!what) {
      const why = shot.takes.length ? "its take is on record but not in the build folder" : "no take and no preview yet";
      return el("div", { class: "player empty" }, el("p", {}, `Nothing to play: ${why}.`),
        el("p", { class: "hint" }, "Run `shotbuild build --backend preview` for an animatic."));
    }
    const video = el("video", {
      class: "main", controls: true, preload: "auto", playsInline: true,
      src: mediaUrl(shot, what.take, version), dataset: { take: what.take },
    });
    video.addEventListener("ended", () => { if (state.playingAll) playFrom(indexOf(shot.name) + 1); });
    const speed = el("select", { class: "speed", title: "Playback speed", onchange: (e) => { video.playbackRate = Number(e.target.value); } },
      ["0.25", "0.5", "1", "1.5", "2"].map((v) => el("option", { value: v, selected: v === "1" }, `${v}\u00d7`)));
    const loop = el("label", { class: "loop" }, el("input", { type: "checkbox", onchange: (e) => { video.loop = e.target.checked; } }), " loop");
    const badge = what.preview ? el("span", { class: "badge preview", title: "An offline animatic, not a paid render" }, "PREVIEW") : el("span", { class: "badge take" }, `TAKE ${what.take}`);
    return el("div", { class: "player" }, el("div", { class: "frame" }, video, badge),
      el("div", { class: "player-controls" }, el("label", {}, "speed ", speed), loop));
  }

  function takeTile(shot, take, version) {
    const pickButton = el("button", {
      type: "button", class: "pick", disabled: isStatic || undefined,
      title: isStatic ? "Picking needs `shotbuild review` (this is a static export)" : `Pick take ${take.number} (key ${take.number})`,
      onclick: () => pick(shot.name, take.number),
    }, take.picked ? `\u2713 picked` : `pick ${take.number}`);
    const url = mediaUrl(shot, String(take.number), version);
    const thumb = take.available
      ? el("video", { class: "thumb", preload: "metadata", muted: true, src: url, title: `Show take ${take.number} in the player`, onclick: (e) => show(e, url, `TAKE ${take.number}`, false) })
      : el("div", { class: "thumb missing" }, "not in build folder");
    return el("div", { class: take.picked ? "tile picked" : "tile", dataset: { take: String(take.number) } },
      thumb, el("div", { class: "tile-label" }, `Take ${take.number}`, el("span", { class: "muted" }, ` ${take.seconds} s`)), pickButton);
  }

  function previewTile(shot, version) {
    const url = mediaUrl(shot, "preview", version);
    return el("div", { class: "tile preview-tile" },
      el("video", { class: "thumb", preload: "metadata", muted: true, src: url, title: "Show the preview in the player", onclick: (e) => show(e, url, "PREVIEW", true) }),
      el("div", { class: "tile-label" }, el("span", { class: "badge preview" }, "PREVIEW"), shot.preview_current ? "" : el("span", { class: "muted" }, " out of date")));
  }

  // Show another take (or the preview) of the same shot in its main player.
  function show(event, url, label, preview) {
    const section = event.target.closest("section.shot");
    const video = section.querySelector("video.main");
    const badge = section.querySelector(".frame .badge");
    if (!video || !badge) return;
    video.src = url;
    badge.textContent = label;
    badge.className = preview ? "badge preview" : "badge take";
  }

  function details(shot) {
    const status = el("span", { class: `status s-${shot.status.replace(/[^a-z]+/g, "-")}` }, shot.status);
    const rows = [
      el("h2", {}, shot.name, shot.title ? el("span", { class: "muted" }, ` \u2014 ${shot.title}`) : null),
      el("p", { class: "plan" }, status, " ", el("span", { class: "reason" }, shot.reason)),
    ];
    if (shot.message) rows.push(el("p", { class: "failure" }, "HeyGen said: ", shot.message));
    rows.push(el("p", { class: "prompt" }, shot.prompt));
    rows.push(el("p", { class: "looks" }, "looks: ", shot.looks.map((l) => el("code", {}, l))));
    rows.push(el("p", { class: "muted" }, `${shot.aspect_ratio} \u00b7 ${shot.resolution} \u00b7 ${shot.duration}`));
    if (shot.references.length) rows.push(el("div", { class: "refs" }, shot.references.map((r) => refThumb(shot, r))));
    const record = `takes on record: ${shot.takes.length} \u00b7 wanted: ${shot.wanted}`;
    const cost = shot.seconds ? `a build would render ${shot.seconds} s of video` : "nothing to render";
    rows.push(el("p", { class: "record" }, record, " \u00b7 ", el("span", { class: shot.seconds ? "cost" : "muted" }, cost)));
    return el("div", { class: "details" }, rows);
  }

  function refThumb(shot, ref) {
    if (!ref.served) return el("span", { class: "ref label", title: `${ref.kind} reference` }, `${ref.kind}: ${ref.label}`);
    return el("img", { class: "ref", src: refUrl(shot, ref.index), alt: ref.label, title: ref.label, loading: "lazy" });
  }

  function shotNode(shot, index) {
    const version = hash(JSON.stringify(shot));
    const tiles = shot.takes.map((t) => takeTile(shot, t, version));
    if (shot.preview && shot.takes.some((t) => t.available)) tiles.push(previewTile(shot, version));
    return el("section", {
      class: "shot", tabindex: "-1", id: `shot-${shot.name}`, dataset: { name: shot.name, index: String(index) },
      onclick: () => select(indexOf(shot.name), false),
    }, el("div", { class: "media" }, player(shot, version), tiles.length ? el("div", { class: "takes" }, tiles) : null), details(shot));
  }

  // -- the whole page ------------------------------------------------------------
  function render(model) {
    if (model.error && !model.shots.length && state.model) {
      // the spec cannot be read (e.g. half-saved): keep the shots shown, say why
      state.model = Object.assign({}, state.model, { digest: model.digest, error: model.error });
      renderNotes(state.model);
      return;
    }
    state.model = model;
    document.getElementById("spec-name").textContent = model.spec;
    const paid = model.renders ? `a paid build would render ${model.renders} shot${model.renders === 1 ? "" : "s"}, ${model.seconds} s of video` : "a paid build would render nothing";
    document.getElementById("summary").textContent = `${model.shots.length} shots \u00b7 ${paid} (renders only: prices come later)`;
    renderNotes(model);
    const main = document.getElementById("shots");
    const seen = new Set();
    model.shots.forEach((shot, index) => {
      const view = JSON.stringify(shot);
      let node = state.nodes.get(shot.name);
      if (!node || state.views.get(shot.name) !== view) {
        const fresh = shotNode(shot, index);
        if (node) node.replaceWith(fresh);
        node = fresh;
        state.nodes.set(shot.name, node);
        state.views.set(shot.name, view);
      }
      node.dataset.index = String(index);
      if (main.children[index] !== node) main.insertBefore(node, main.children[index] || null);
      seen.add(shot.name);
    });
    for (const [name, node] of state.nodes) {
      if (!seen.has(name)) { node.remove(); state.nodes.delete(name); state.views.delete(name); }
    }
    select(Math.min(state.current, model.shots.length - 1), false);
  }

  function renderNotes(model) {
    const notes = document.getElementById("notes");
    notes.replaceChildren();
    if (model.error) notes.append(el("p", { class: "note bad" }, "The spec cannot be read right now (showing the last good one): ", model.error));
    if (isStatic) notes.append(el("p", { class: "note" }, "Static export: picking is disabled here. Run `shotbuild review` beside the spec to pick takes."));
    if (model.watch) notes.append(el("p", { class: "note" }, "Watching: previews of changed shots are rendered again in the background with the offline preview backend. Never a paid render."));
  }

  function indexOf(name) {
    return state.model ? state.model.shots.findIndex((s) => s.name === name) : -1;
  }

  function shotAt(index) {
    return document.querySelector(`#shots > section.shot[data-index="${index}"]`);
  }

  function select(index, scroll) {
    if (!state.model || index < 0 || index >= state.model.shots.length) return;
    state.current = index;
    document.querySelectorAll("#shots > section.current").forEach((n) => n.classList.remove("current"));
    const node = shotAt(index);
    if (!node) return;
    node.classList.add("current");
    if (scroll) { node.scrollIntoView({ block: "center", behavior: "smooth" }); node.focus({ preventScroll: true }); }
  }

  function mainVideo(index) {
    const node = shotAt(index);
    return node ? node.querySelector("video.main") : null;
  }

  function playFrom(index) {
    document.querySelectorAll("video").forEach((v) => v.pause());
    while (state.model && index < state.model.shots.length && !mainVideo(index)) index++;
    const video = mainVideo(index);
    if (!video) { stopAll(); return; }
    select(index, true);
    video.currentTime = 0;
    video.play().catch(() => stopAll());
  }

  function stopAll() {
    state.playingAll = false;
    document.getElementById("play-all").textContent = "\u25b6 Play all in order";
  }

  function togglePlayAll() {
    if (state.playingAll) { stopAll(); document.querySelectorAll("video").forEach((v) => v.pause()); return; }
    state.playingAll = true;
    document.getElementById("play-all").textContent = "\u25a0 Stop";
    playFrom(0);
  }

  // -- picking (server mode only) --------------------------------------------------
  async function pick(name, take) {
    if (isStatic) { toast("Picking needs `shotbuild review` (this is a static export).", true); return; }
    try {
      const answer = await fetch("api/pick", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Review-Token": token },
        body: JSON.stringify({ shot: name, take: take }),
      });
      const doc = await answer.json();
      if (!answer.ok) { toast(`Not picked: ${doc.error}`, true); return; }
      toast(`${name}: take ${doc.take} picked`);
      poll(true);
    } catch (e) {
      toast(`Not picked: ${e}`, true);
    }
  }

  // -- keys ------------------------------------------------------------------------
  document.addEventListener("keydown", (event) => {
    if (event.target.closest && event.target.closest("select, input, textarea")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key;
    if (key === "ArrowDown" || key === "ArrowRight") { select(state.current + 1, true); event.preventDefault(); }
    else if (key === "ArrowUp" || key === "ArrowLeft") { select(state.current - 1, true); event.preventDefault(); }
    else if (key === " ") {
      const video = mainVideo(state.current);
      if (video) { if (video.paused) video.play().catch(() => {}); else video.pause(); }
      event.preventDefault();
    } else if (/^[1-9]$/.test(key) && state.model) {
      const shot = state.model.shots[state.current];
      const take = shot && shot.takes.find((t) => t.number === Number(key));
      if (take) pick(shot.name, take.number);
      else if (shot) toast(`${shot.name} has no take ${key}`, true);
      event.preventDefault();
    }
  });

  // -- live: poll the server's model (it watches the files) ---------------------------
  async function poll(once) {
    const live = document.getElementById("live");
    try {
      const since = state.model && !once ? state.model.digest : "";
      const answer = await fetch(`api/model?${new URLSearchParams({ t: token, since })}`, { cache: "no-store" });
      if (!answer.ok) throw new Error((await answer.json()).error);
      const doc = await answer.json();
      if (doc.shots) render(doc);
      live.textContent = "\u25cf live";
      live.className = "live on";
    } catch (e) {
      live.textContent = "\u25cb server gone";
      live.className = "live off";
      live.title = String(e.message || e);
    }
    if (!once) setTimeout(() => poll(false), POLL_MS);
  }

  document.getElementById("play-all").addEventListener("click", togglePlayAll);
  if (isStatic) {
    render(config.model);
    document.getElementById("live").textContent = "static export";
  } else {
    poll(false);
  }
})();
