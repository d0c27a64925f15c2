// Steps through the frames in #stepthrough-data over the Graphviz drawing in #graph.
// Position k shows the page after the first k frames: data and grads set by them, the last one lit.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("stepthrough-data").textContent);
  const frames = data.frames;
  const forwardFrames = data.forward;
  const $ = (id) => document.getElementById(id);
  const graph = $("graph");
  const slider = $("slider");
  const titleOf = (g) => (g.querySelector(":scope > title") || {}).textContent || "";

  const shapes = {};  // Graphviz node name -> its <g>
  const arrows = {};  // "source->target" -> the <g>s of those arrows
  for (const g of graph.querySelectorAll("g.node")) shapes[titleOf(g)] = g;
  for (const g of graph.querySelectorAll("g.edge")) (arrows[titleOf(g)] ||= []).push(g);
  // A record's last two texts are its data and grad fields.
  const fields = {};
  for (const [name, g] of Object.entries(shapes)) {
    if (!/^v\d+$/.test(name)) continue;
    const texts = g.querySelectorAll("text");
    fields[name] = { data: texts[texts.length - 2], grad: texts[texts.length - 1] };
  }
  const marks = ["computed", "visited", "current", "target", "active"];

  // Zoom: the drawing starts as wide as the page, but no smaller than half its own size
  // (a larger graph scrolls); Fit shows all of it.
  const drawing = graph.querySelector("svg");
  const naturalWidth = drawing.getBoundingClientRect().width;
  const fitScale = () => (graph.clientWidth - 2) / naturalWidth;
  let scale = 1;
  function zoom(to) {
    scale = Math.max(0.05, Math.min(4, to));
    drawing.style.width = naturalWidth * scale + "px";
    drawing.style.height = "auto";
  }
  zoom(Math.max(0.5, Math.min(1, fitScale())));

  let position = 0;
  let timer = null;
  slider.max = String(frames.length);

  function mark(name, kind) {
    if (shapes[name]) shapes[name].classList.add(kind);
  }

  function render() {
    for (const f of Object.values(fields)) {
      f.data.textContent = "data";
      f.grad.textContent = "grad";
    }
    for (const kind of marks) {
      for (const el of graph.querySelectorAll("." + kind)) el.classList.remove(kind);
    }
    for (let i = 0; i < position; i++) {
      const frame = frames[i];
      for (const [name, field, text] of frame.sets) fields[name][field].textContent = text;
      mark(frame.current, frame.phase === "forward" ? "computed" : "visited");
    }
    const frame = frames[position - 1];
    if (frame) {
      mark(frame.current, "current");
      for (const name of frame.targets) mark(name, "target");
      for (const name of frame.nodes) mark(name, "current");
      for (const edge of frame.edges) for (const g of arrows[edge] || []) g.classList.add("active");
      $("headline").textContent = frame.title;
      $("arithmetic").textContent = frame.lines.join("\n");
      reveal(shapes[frame.current]);
    } else {
      $("headline").textContent = "Press Next (or the right arrow) to run the forward pass.";
      $("arithmetic").textContent = "";
    }
    const backward = position > forwardFrames;
    $("phase-forward").setAttribute("aria-pressed", String(!backward));
    $("phase-backward").setAttribute("aria-pressed", String(backward));
    slider.value = String(position);
    $("counter").textContent = position + " / " + frames.length;
    $("back").disabled = position === 0;
    $("next").disabled = position === frames.length;
    $("play").textContent = timer ? "Pause" : "Play";
  }

  function reveal(shape) {  // scroll the drawing, not the page, so the lit node shows
    if (!shape) return;
    const box = shape.getBoundingClientRect();
    const view = graph.getBoundingClientRect();
    if (box.left < view.left) graph.scrollLeft -= view.left - box.left + 20;
    if (box.right > view.right) graph.scrollLeft += box.right - view.right + 20;
    if (box.top < view.top) graph.scrollTop -= view.top - box.top + 20;
    if (box.bottom > view.bottom) graph.scrollTop += box.bottom - view.bottom + 20;
  }

  function go(to) {
    position = Math.max(0, Math.min(frames.length, to));
    if (position === frames.length) stop();
    render();
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  function togglePlay() {
    if (timer) {
      stop();
    } else {
      if (position === frames.length) position = 0;
      timer = setInterval(() => go(position + 1), 900);
    }
    render();
  }

  $("zoom-in").addEventListener("click", () => zoom(scale * 1.25));
  $("zoom-out").addEventListener("click", () => zoom(scale / 1.25));
  $("zoom-fit").addEventListener("click", () => zoom(fitScale()));
  $("next").addEventListener("click", () => go(position + 1));
  $("back").addEventListener("click", () => go(position - 1));
  $("play").addEventListener("click", togglePlay);
  $("phase-forward").addEventListener("click", () => go(0));
  $("phase-backward").addEventListener("click", () => go(forwardFrames + 1));
  slider.addEventListener("input", () => go(Number(slider.value)));
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const moves = {
      ArrowRight: () => go(position + 1),
      ArrowLeft: () => go(position - 1),
      Home: () => go(0),
      End: () => go(frames.length),
      " ": togglePlay,
    };
    if (event.target.tagName === "BUTTON" && event.key === " ") return;  // space presses it
    if (!moves[event.key]) return;
    event.preventDefault();
    moves[event.key]();
  });
  render();
})();
