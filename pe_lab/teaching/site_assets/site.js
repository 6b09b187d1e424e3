// The static explorer page: builds each tab's controls from the manifest (data/site.js), shows the drawing the
// build made for the chosen state, and keeps the tab and every control in the link after '#'. A link is read by
// the rules of pe_lab.teaching.explore.state.parse_fragment: a missing setting takes its default; an unknown tab,
// a value off the grid, an unknown setting or an unreadable piece takes the default and is named in the notice.
"use strict";

const PeSite = (() => {
  const tabData = {}, figures = {}, scripts = {}, remembered = {};
  let manifest = null, current = null, renderCount = 0, problems = [];

  const $ = (id) => document.getElementById(id);
  const tabOf = (name) => manifest.tabs.find((t) => t.name === name);
  const encode = (text) => encodeURIComponent(text);

  function loadScript(src) {
    if (!scripts[src]) {
      scripts[src] = new Promise((resolve, reject) => {
        const element = document.createElement("script");
        element.src = src;
        element.onload = resolve;
        element.onerror = () => reject(new Error(`could not load ${src}`));
        document.head.appendChild(element);
      });
    }
    return scripts[src];
  }

  function defaults(tab) {
    return Object.fromEntries(tab.controls.map((c) => [c.name, c.default]));
  }

  function stateKey(tab, state) {
    return tab.controls.map((c) => `${c.name}=${encode(state[c.name])}`).join("&");
  }

  function fragment(tab, state) {
    const key = stateKey(tab, state);
    return `tab=${encode(tab.name)}` + (key ? `&${key}` : "");
  }

  function parseFragment(text) {
    const pairs = new Map(), found = [];
    for (const piece of text.replace(/^#+/, "").split("&")) {
      if (!piece) continue;
      const at = piece.indexOf("=");
      let key, value;
      try {
        if (/%(?![0-9A-Fa-f]{2})/.test(piece)) throw new URIError(piece);
        key = decodeURIComponent(at < 0 ? piece : piece.slice(0, at));
        value = at < 0 ? "" : decodeURIComponent(piece.slice(at + 1));
      } catch (error) {
        found.push(`could not read '${piece}': ignored`);
        continue;
      }
      if (at < 0) {
        found.push(`could not read '${piece}' (no '='): ignored`);
        continue;
      }
      pairs.set(key, value);
    }
    let name = pairs.has("tab") ? pairs.get("tab") : manifest.default_tab;
    pairs.delete("tab");
    if (!tabOf(name)) {
      found.push(`there is no tab '${name}': showing '${manifest.default_tab}'`);
      name = manifest.default_tab;
    }
    const tab = tabOf(name), state = defaults(tab);
    for (const [key, value] of pairs) {
      const control = tab.controls.find((c) => c.name === key);
      if (!control) {
        found.push(`'${key}' is not a setting of '${name}': ignored`);
        continue;
      }
      const tokens = control.values.map((v) => v.token);
      if (tokens.includes(value)) {
        state[key] = value;
      } else {
        const allowed = tokens.map((t) => t || "(none)").join(", ");
        found.push(`${key}=${value} is not one of this page's values (${allowed}): showing ${key}=${control.default}`);
      }
    }
    return { tab: name, state, problems: found };
  }

  function showNotice() {
    const notice = $("notice");
    notice.hidden = problems.length === 0;
    notice.innerHTML = "";
    if (!problems.length) return;
    notice.append("This link could not be read in full; the page shows the default for what it could not read:");
    const list = document.createElement("ul");
    for (const text of problems) {
      const item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    }
    notice.appendChild(list);
  }

  function setLink() {
    const text = fragment(tabOf(current.tab), current.state);
    const link = $("link");
    link.href = `#${text}`;
    link.textContent = location.href.split("#")[0] + "#" + text;
    if (location.hash.replace(/^#/, "") !== text) {
      try {
        history.replaceState(null, "", `#${text}`);
      } catch (error) {
        current.settingHash = text;
        location.hash = text;
      }
    }
  }

  function change(name, value) {
    current.state[name] = value;
    remembered[current.tab] = { ...current.state };
    problems = [];
    showNotice();
    setLink();
    render();
  }

  function rangeControl(control, value, box) {
    const index = control.values.findIndex((v) => v.token === value);
    const input = Object.assign(document.createElement("input"),
      { type: "range", min: 0, max: control.values.length - 1, step: 1, value: index, id: `control-${control.name}` });
    const shown = document.createElement("output");
    shown.textContent = control.values[index].label;
    input.addEventListener("input", () => {
      shown.textContent = control.values[input.value].label;
      change(control.name, control.values[input.value].token);
    });
    const ticks = document.createElement("div");
    ticks.className = "ticks";
    const labels = control.values.length <= 8 ? control.values : [control.values[0], control.values.at(-1)];
    for (const v of labels) ticks.appendChild(Object.assign(document.createElement("span"), { textContent: v.label }));
    box.append(input, ticks, shown);
  }

  function selectControl(control, value, box) {
    const select = Object.assign(document.createElement("select"), { id: `control-${control.name}` });
    for (const v of control.values) select.appendChild(new Option(v.label, v.token, false, v.token === value));
    select.addEventListener("change", () => change(control.name, select.value));
    box.appendChild(select);
  }

  function choicesControl(control, value, box) {
    const chosen = value ? value.split("~") : [];
    for (const option of control.options) {
      const label = document.createElement("label");
      const box_ = Object.assign(document.createElement("input"),
        { type: "checkbox", value: option.token, checked: chosen.includes(option.token) });
      box_.addEventListener("change", () => {
        const ticked = [...box.querySelectorAll("input:checked")].map((i) => i.value);
        change(control.name, ticked.join("~"));
      });
      label.append(box_, ` ${option.label}`);
      box.appendChild(label);
    }
  }

  function buildControls(tab) {
    const holder = $("controls");
    holder.innerHTML = "";
    for (const control of tab.controls) {
      const box = document.createElement("div");
      box.className = "control";
      box.dataset.name = control.name;
      box.dataset.kind = control.values.length > 1 ? control.kind : "fixed";
      const title = Object.assign(document.createElement("span"), { className: "name", textContent: control.label });
      box.appendChild(title);
      const value = current.state[control.name];
      if (control.values.length === 1) {
        box.classList.add("fixed");
        box.append(`${control.values[0].label} (fixed on this page)`);
      } else if (control.kind === "choice") {
        selectControl(control, value, box);
      } else if (control.kind === "choices") {
        choicesControl(control, value, box);
      } else {
        rangeControl(control, value, box);
      }
      holder.appendChild(box);
    }
    $("note").textContent = tab.note || "";
    for (const button of document.querySelectorAll("#tabs button")) {
      button.setAttribute("aria-selected", String(button.dataset.tab === tab.name));
    }
  }

  async function figureElement(tabName, figure) {
    const src = `data/${tabName}/${figure.src}`;
    if (figure.type === "image") {
      const image = new Image();
      await new Promise((resolve, reject) => {
        image.onload = resolve;
        image.onerror = () => reject(new Error(`could not load ${src}`));
        image.src = src;
      });
      image.alt = `figure of this state (${figure.src})`;
      image.dataset.src = figure.src;
      return image;
    }
    await loadScript(src);
    const div = Object.assign(document.createElement("div"), { className: "plot" });
    div.dataset.src = figure.src;
    div.figure = figures[figure.src.split("/").at(-1)];
    return div;
  }

  async function render() {
    const count = ++renderCount, tab = tabOf(current.tab), main = $("explorer");
    main.dataset.ready = "0";
    await loadScript(`data/${tab.name}.js`);
    const key = stateKey(tab, current.state);
    const entry = tabData[tab.name].states[key];
    let elements;
    try {
      elements = await Promise.all(entry.figures.map((f) => figureElement(tab.name, f)));
    } catch (error) {
      const message = Object.assign(document.createElement("p"), { className: "error", textContent: String(error) });
      elements = [message];
    }
    if (count !== renderCount) return;  // a newer state was asked for while this one loaded
    const holder = $("figures");
    for (const plot of holder.querySelectorAll(".js-plotly-plot")) Plotly.purge(plot);
    holder.innerHTML = "";
    $("summary").innerHTML = entry.summary;
    for (const element of elements) {
      holder.appendChild(element);
      if (element.figure) {
        await Plotly.newPlot(element, element.figure.data, element.figure.layout,
          { displaylogo: false, responsive: true });
      }
    }
    if (count !== renderCount) return;
    main.dataset.state = fragment(tab, current.state);
    main.dataset.ready = "1";
  }

  function open(text) {
    const parsed = parseFragment(text);
    current = { tab: parsed.tab, state: parsed.state };
    remembered[parsed.tab] = { ...parsed.state };
    problems = parsed.problems;
    showNotice();
    buildControls(tabOf(current.tab));
    setLink();
    render();
  }

  function chooseTab(name) {
    current = { tab: name, state: { ...(remembered[name] || defaults(tabOf(name))) } };
    problems = [];
    showNotice();
    buildControls(tabOf(name));
    setLink();
    render();
  }

  function start(data) {
    manifest = data;
    const nav = $("tabs");
    for (const tab of manifest.tabs) {
      const button = Object.assign(document.createElement("button"), { type: "button", textContent: tab.title });
      button.dataset.tab = tab.name;
      button.setAttribute("role", "tab");
      button.addEventListener("click", () => chooseTab(tab.name));
      nav.appendChild(button);
    }
    const states = manifest.tabs.reduce((sum, t) => sum + t.states, 0);
    $("about").textContent = `Built ${manifest.built} from pe-lab's committed results: ${states} states over `
      + `${manifest.tabs.length} tabs, ${(manifest.bytes / 1e6 || 0).toFixed(1)} MB.`
      + (manifest.quick ? " A quick build: two values per control." : "")
      + " The notebooks' explorers (make lab, make explorer) move every control over its whole range.";
    window.addEventListener("hashchange", () => {
      if (current && current.settingHash === location.hash.replace(/^#/, "")) return;
      open(location.hash);
    });
    open(location.hash);
  }

  return {
    start,
    parseFragment,
    tabLoaded: (name, data) => { tabData[name] = data; },
    figureLoaded: (name, figure) => { figures[name] = figure; },
    get current() { return current; },
    get manifest() { return manifest; },
    tabData,
  };
})();
