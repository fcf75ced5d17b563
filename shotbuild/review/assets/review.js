// shotbuild review: the page. Plain DOM, no framework, nothing from the network
// but this page's own server (or, in a static export, the files beside it).
// Every text from the spec goes in through textContent, never as HTML.
"use strict";

(function () {
  const config = window.REVIEW || { mode: "server" };
  const isStatic = config.mode === "static";
  const token = new URLSearchParams(location.search).get("t") || "";
  const POLL_MS = 500;
  const state = { model: null, current: 0, playingAll: false, nodes: new Map(), views: new Map(), seqNodes: new Map(), seqViews: new Map() };

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

  function cutUrl(seq, version) {
    if (isStatic) return (config.cuts || {})[seq.name] || "";
    const q = new URLSearchParams({ t: token, v: version });
    return `cut/${encodeURIComponent(seq.name)}/${encodeURIComponent(seq.cut)}?${q}`;
  }

  function refUrl(shot, index) {
    if (isStatic) return (config.refs[shot.name] || {})[String(index)] || "";
    return `ref/${encodeURIComponent(shot.name)}/${index}?${new URLSearchParams({ t: token })}`;
  }

  // A take's video is here: on this machine (server), or written into the export (static).
  function here(shot, take) {
    return take.available && (!isStatic || Boolean((config.media[shot.name] || {})[String(take.number)]));
  }

  // What the main player shows: the picked take if its video is here, else the preview.
  function playable(shot) {
    const picked = shot.takes.find((t) => t.picked && here(shot, t));
    if (picked) return { take: String(picked.number), preview: false };
    if (shot.preview) return { take: "preview", preview: true };
    return null;
  }

  // -- one shot: its players side by side (main first), each take with its pick ----
  function players(shot, version) {
    const main = playable(shot);
    if (!main && !shot.takes.length) {
      return el("div", { class: "player empty" }, el("p", {}, "Nothing to play: no take and no preview yet."),
        el("p", { class: "hint" }, "Run `shotbuild build --backend preview` for an animatic."));
    }
    const list = [];
    if (main) list.push(main.preview ? previewPlayer(shot, version, true) : takePlayer(shot, shot.takes.find((t) => t.picked), version, true));
    for (const take of shot.takes) {
      if (main && !main.preview && String(take.number) === main.take) continue;
      list.push(here(shot, take) ? takePlayer(shot, take, version, false) : missingTake(shot, take));
    }
    if (shot.preview && main && !main.preview) list.push(previewPlayer(shot, version, false));
    return el("div", { class: list.length > 1 ? "players many" : "players" }, list);
  }

  function videoFor(shot, media, version, main, label, preview) {
    const video = el("video", {
      class: main ? "main" : "other", controls: true, preload: main ? "auto" : "metadata", playsInline: true,
      src: mediaUrl(shot, media, version), dataset: { take: media },
    });
    video.addEventListener("play", () => { const section = video.closest("section.shot"); if (section) section.dataset.active = media; });
    if (main) video.addEventListener("ended", () => { if (state.playingAll) playFrom(indexOf(shot.name) + 1); });
    const badge = el("span", { class: preview ? "badge preview" : "badge take", title: preview ? "An offline animatic, not a paid render" : null }, label);
    return { video, frame: el("div", { class: "frame" }, video, badge) };
  }

  function playerControls(video) {
    const speed = el("select", { class: "speed", title: "Playback speed", onchange: (e) => { video.playbackRate = Number(e.target.value); } },
      ["0.25", "0.5", "1", "1.5", "2"].map((v) => el("option", { value: v, selected: v === "1" }, `${v}\u00d7`)));
    const loop = el("label", { class: "loop" }, el("input", { type: "checkbox", onchange: (e) => { video.loop = e.target.checked; } }), " loop");
    return [el("label", {}, speed), loop];
  }

  function pickButton(shot, take) {
    const title = isStatic ? "Picking needs `shotbuild review` (this is a static export)"
      : take.number <= 9 ? `Make take ${take.number} the output (key ${take.number})` : `Make take ${take.number} the output`;
    return el("button", {
      type: "button", class: take.picked ? "pick picked" : "pick", disabled: isStatic || undefined, title,
      dataset: { take: String(take.number) },
      onclick: (e) => { e.currentTarget.blur(); pick(shot.name, take.number, e.currentTarget); },
    }, take.picked ? "\u2713 picked" : `pick ${take.number}`);
  }

  function takePlayer(shot, take, version, main) {
    const label = take.picked ? `TAKE ${take.number} \u2713` : `TAKE ${take.number}`;
    const { video, frame } = videoFor(shot, String(take.number), version, main, label, false);
    return el("div", { class: take.picked ? "player take picked" : "player take", dataset: { take: String(take.number) } }, frame,
      el("div", { class: "player-controls" }, pickButton(shot, take), playerControls(video)));
  }

  // A take on record whose bytes are not on this machine: say so, and how to get them.
  function missingTake(shot, take) {
    const how = isStatic ? ["It was not on the machine that wrote this export."]
      : [el("code", {}, `shotbuild pick ${shot.name} ${take.number}`), " fetches it (no render) and makes it the output."];
    return el("div", { class: take.picked ? "player take missing picked" : "player take missing", dataset: { take: String(take.number) } },
      el("div", { class: "frame missing" }, el("span", { class: "badge take" }, take.picked ? `TAKE ${take.number} \u2713` : `TAKE ${take.number}`),
        el("p", {}, `Take ${take.number} is on record but not on this machine.`), el("p", { class: "hint" }, how)),
      el("div", { class: "player-controls" }, pickButton(shot, take), el("span", { class: "muted" }, `${take.seconds} s`)));
  }

  function previewPlayer(shot, version, main) {
    const label = shot.preview_current ? "PREVIEW" : "PREVIEW \u00b7 OUT OF DATE";
    const { video, frame } = videoFor(shot, "preview", version, main, label, true);
    const note = shot.takes.length ? null : el("span", { class: "muted" }, "no paid take yet");
    return el("div", { class: "player preview-player", dataset: { take: "preview" } }, frame,
      el("div", { class: "player-controls" }, note, playerControls(video)));
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
    const price = shot.cost ? `, ${shot.cost}` : "";
    const count = shot.renders > 1 ? `${shot.renders} renders, ` : "";
    const cost = shot.renders ? `a build would render ${count}${shot.seconds} s of video${price}` : "nothing to render";
    rows.push(el("p", { class: "record" }, record, " \u00b7 ", el("span", { class: shot.seconds ? "cost" : "muted" }, cost)));
    return el("div", { class: "details" }, rows);
  }

  function refThumb(shot, ref) {
    if (!ref.served) return el("span", { class: "ref label", title: `${ref.kind} reference` }, `${ref.kind}: ${ref.label}`);
    return el("img", { class: "ref", src: refUrl(shot, ref.index), alt: ref.label, title: ref.label, loading: "lazy" });
  }

  function shotNode(shot, index) {
    const version = hash(JSON.stringify(shot));
    const wide = shot.takes.length + (shot.preview ? 1 : 0) > 1;
    return el("section", {
      class: wide ? "shot wide" : "shot", tabindex: "-1", id: `shot-${shot.name}`, dataset: { name: shot.name, index: String(index) },
      onclick: () => select(indexOf(shot.name), false),
    }, el("div", { class: "media" }, players(shot, version)), details(shot));
  }

  // -- one sequence: its members' own files played in order, with their trims ----
  function shotNamed(name) {
    return state.model ? state.model.shots.find((s) => s.name === name) : undefined;
  }

  function trimText(member) {
    if (member.start === null && member.end === null) return "whole shot";
    const from = member.start === null ? "start" : `${member.start} s`;
    const to = member.end === null ? "end" : `${member.end} s`;
    return `${from} \u2192 ${to}`;
  }

  function memberItem(member, index) {
    const badge = member.media === null ? el("span", { class: "muted" }, "nothing to play yet")
      : member.media === "preview" ? el("span", { class: "badge preview" }, "PREVIEW")
      : el("span", { class: "badge take" }, `TAKE ${member.media}`);
    return el("li", { dataset: { index: String(index), shot: member.shot } },
      el("code", {}, member.shot), " ", el("span", { class: "muted" }, trimText(member)), " ", badge);
  }

  // Plays member after member in one <video>: seek to `in`, move on at `out` (or the end).
  function sequencePlayer(seq) {
    const video = el("video", { class: "seq", controls: true, preload: "auto", playsInline: true });
    const badge = el("span", { class: "badge" });
    const list = el("ol", { class: "members" }, seq.members.map(memberItem));
    const run = { index: -1 };
    function load(index, autoplay) {
      while (index < seq.members.length && seq.members[index].media === null) index++;
      if (index >= seq.members.length) { run.index = -1; video.pause(); button.textContent = "\u25b6 Play in order"; return; }
      const member = seq.members[index];
      const shot = shotNamed(member.shot);
      if (!shot) return;
      run.index = index;
      Object.assign(video.dataset, { member: String(index), shot: member.shot, media: member.media });
      list.querySelectorAll("li").forEach((li) => li.classList.toggle("playing", li.dataset.index === String(index)));
      badge.textContent = member.media === "preview" ? "PREVIEW" : `TAKE ${member.media}`;
      badge.className = member.media === "preview" ? "badge preview" : "badge take";
      video.addEventListener("loadedmetadata", () => {
        video.currentTime = member.start || 0;
        if (autoplay) video.play().catch(() => {});
      }, { once: true });
      video.src = mediaUrl(shot, member.media, hash(JSON.stringify(shot)));
    }
    function atOut() {
      const member = seq.members[run.index];
      if (member && member.end !== null && !video.paused && video.currentTime >= member.end) load(run.index + 1, true);
    }
    function tick() { if (!video.paused) { atOut(); requestAnimationFrame(tick); } }
    video.addEventListener("timeupdate", atOut);
    video.addEventListener("play", () => { button.textContent = "\u25a0 Stop"; requestAnimationFrame(tick); });
    video.addEventListener("pause", () => { button.textContent = "\u25b6 Play in order"; });
    video.addEventListener("ended", () => { if (run.index >= 0) load(run.index + 1, true); });
    const button = el("button", { type: "button", class: "seq-play", onclick: () => {
      if (!video.paused) { video.pause(); return; }
      document.querySelectorAll("video").forEach((v) => v.pause());
      load(0, true);
    } }, "\u25b6 Play in order");
    load(0, false);
    if (run.index < 0) {
      return el("div", { class: "player empty" }, el("p", {}, "Nothing to play: no member has a take or a preview yet."), list);
    }
    return el("div", { class: "player seq-player" }, el("div", { class: "frame" }, video, badge),
      el("div", { class: "player-controls" }, button, el("span", { class: "muted" }, "members' own files, trimmed in the page")), list);
  }

  // A pick here re-assembles the cuts with its shot in the background: say so until the new cut plays.
  function assembling(seq) {
    return seq.assembly === "queued" || seq.assembly === "running";
  }

  function cutPlayer(seq, version) {
    if (assembling(seq)) {
      return el("div", { class: "player cut empty assembling", dataset: { assembly: seq.assembly } },
        el("p", {}, el("span", { class: "spinner", "aria-hidden": "true" }), "Re-assembling the cut from the new pick\u2026"),
        el("p", { class: "muted" }, "It plays here when it is done; picking goes on meanwhile."));
    }
    const failed = seq.assembly === "failed" ? el("p", { class: "failure assembly-error" }, "Not re-assembled: ", seq.assembly_error) : null;
    if (!seq.cut) return el("div", { class: "player cut empty" }, failed, el("p", { class: "muted" }, "No current assembled cut: a build assembles it when its shots are done."));
    const label = seq.cut === "preview" ? "PREVIEW CUT" : "CUT";
    return el("div", { class: "player cut" }, el("div", { class: "frame" },
      el("video", { class: "cut", controls: true, preload: "metadata", playsInline: true, src: cutUrl(seq, version) }),
      el("span", { class: seq.cut === "preview" ? "badge preview" : "badge take", title: "The assembled file a build wrote" }, label)), failed);
  }

  function sequenceNode(seq) {
    const version = hash(JSON.stringify(seq));
    const status = assembling(seq) ? el("span", { class: "status s-assembling" }, "re-assembling\u2026")
      : el("span", { class: `status s-${seq.status.replace(/[^a-z]+/g, "-")}` }, seq.status);
    const details = el("div", { class: "details" },
      el("h2", {}, el("span", { class: "muted" }, "sequence "), seq.name),
      el("p", { class: "plan" }, el("span", { class: "muted" }, "paid cut: "), status, " ", el("span", { class: "reason" }, seq.reason)),
      el("p", { class: "muted" }, `${seq.members.length} member${seq.members.length === 1 ? "" : "s"}`));
    return el("section", { class: "sequence", id: `sequence-${seq.name}`, dataset: { name: seq.name } },
      el("div", { class: "media" }, sequencePlayer(seq), cutPlayer(seq, version)), details);
  }

  function renderSequences(model) {
    const box = document.getElementById("sequences");
    const seqs = model.sequences || [];
    const seen = new Set();
    seqs.forEach((seq, index) => {
      const members = seq.members.map((m) => shotNamed(m.shot));
      const view = JSON.stringify([seq, members]);
      let node = state.seqNodes.get(seq.name);
      if (!node || state.seqViews.get(seq.name) !== view) {
        const fresh = sequenceNode(seq);
        if (node) node.replaceWith(fresh);
        node = fresh;
        state.seqNodes.set(seq.name, node);
        state.seqViews.set(seq.name, view);
      }
      if (box.children[index] !== node) box.insertBefore(node, box.children[index] || null);
      seen.add(seq.name);
    });
    for (const [name, node] of state.seqNodes) {
      if (!seen.has(name)) { node.remove(); state.seqNodes.delete(name); state.seqViews.delete(name); }
    }
    document.getElementById("sequences-title").hidden = !seqs.length;
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
    const spend = model.cost ? `, ${model.cost}` : "";
    const paid = model.renders ? `a paid build would pay for ${model.renders} render${model.renders === 1 ? "" : "s"}, ${model.seconds} s of video${spend}` : "a paid build would render nothing";
    document.getElementById("summary").textContent = `${model.shots.length} shots \u00b7 ${paid}`;
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
    renderSequences(model);
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
  // The click and the keys 1-9 both come here, with the take's pick button.
  async function pick(name, take, button) {
    if (isStatic) { toast("Picking needs `shotbuild review` (this is a static export).", true); return; }
    const buttons = button ? [...button.closest(".players").querySelectorAll("button.pick")] : [];
    const text = button ? button.textContent : "";
    buttons.forEach((b) => { b.disabled = true; });
    if (button) { button.classList.add("busy"); button.textContent = "picking\u2026"; }
    try {
      const answer = await fetch("api/pick", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Review-Token": token },
        body: JSON.stringify({ shot: name, take: take }),
      });
      const doc = await answer.json();
      if (!answer.ok) { toast(`Not picked: ${doc.error}`, true); return; }
      toast(`${name}: take ${doc.take} picked`);
    } catch (e) {
      toast(`Not picked: ${e}`, true);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      if (button) { button.classList.remove("busy"); button.textContent = text; }
      poll(true);
    }
  }

  // -- keys ------------------------------------------------------------------------
  function currentShot() {
    return state.model ? state.model.shots[state.current] : undefined;
  }

  // Space: pause what plays in the current shot, else play the one played last there (or its main).
  function togglePlay() {
    const node = shotAt(state.current);
    if (!node) return;
    const videos = [...node.querySelectorAll("video")];
    const playing = videos.filter((v) => !v.paused);
    if (playing.length) { playing.forEach((v) => v.pause()); return; }
    const last = node.dataset.active && node.querySelector(`video[data-take="${node.dataset.active}"]`);
    const video = last || node.querySelector("video.main");
    if (video) video.play().catch(() => {});
  }

  // 1-9: press the take's own pick button (the click's code path), and show it pressed.
  function pickKey(number) {
    const shot = currentShot();
    const node = shotAt(state.current);
    const button = node && node.querySelector(`.player[data-take="${number}"] button.pick`);
    if (!shot || !button) { if (shot) toast(`${shot.name} has no take ${number}`, true); return; }
    button.classList.add("pressed");
    setTimeout(() => button.classList.remove("pressed"), 600);
    if (isStatic) toast("Picking needs `shotbuild review` (this is a static export).", true);
    else if (!button.disabled) button.click();
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.closest && event.target.closest("select, input, textarea")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const key = event.key;
    if (key === "ArrowDown" || key === "ArrowRight") { select(state.current + 1, true); event.preventDefault(); }
    else if (key === "ArrowUp" || key === "ArrowLeft") { select(state.current - 1, true); event.preventDefault(); }
    else if (key === " ") { togglePlay(); event.preventDefault(); }
    else if (/^[1-9]$/.test(key)) { pickKey(Number(key)); event.preventDefault(); }
  });
  // a focused button must not also take the space (it would click itself)
  document.addEventListener("keyup", (event) => { if (event.key === " ") event.preventDefault(); });

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
