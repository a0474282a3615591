// The room's icons as inline SVG drawn with the text colour: no emoji font is needed (a phone without
// one shows ✋ as an empty box). Always aria-hidden: the button or line next to an icon names it in words.

const PATHS = {
  // A microphone; crossed out when off.
  mic: "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM6 11a6 6 0 0 0 12 0M12 17v4M8 21h8",
  "mic-off": "M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM6 11a6 6 0 0 0 12 0M12 17v4M8 21h8M4 4l16 16",
  // An open hand.
  hand: "M8 13V5.5a1.5 1.5 0 0 1 3 0V12M11 11V4a1.5 1.5 0 0 1 3 0v7M14 11V5.5a1.5 1.5 0 0 1 3 0V13M17 9.5a1.5 1.5 0 0 1 3 0V15a7 7 0 0 1-7 7h-1a7 7 0 0 1-5.6-2.8L3.5 16a1.5 1.5 0 0 1 2.4-1.8L8 16.5",
  camera: "M3 7h12v10H3zM15 10l6-3v10l-6-3",
  "camera-off": "M3 7h12v10H3zM15 10l6-3v10l-6-3M3 3l18 18",
  screen: "M3 4h18v12H3zM8 20h8M12 16v4",
  leave: "M10 4H5v16h5M15 8l4 4-4 4M19 12H9",
  speaker: "M4 9h4l5-4v14l-5-4H4zM16 9a4 4 0 0 1 0 6M18.5 6.5a7.5 7.5 0 0 1 0 11",
};

const SVG = "http://www.w3.org/2000/svg";

/** An inline SVG icon (24×24, stroked with currentColor). */
export function icon(name, className = "icon") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", className);
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", PATHS[name] || "");
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "2");
  path.setAttribute("stroke-linecap", "round");
  path.setAttribute("stroke-linejoin", "round");
  svg.append(path);
  return svg;
}

/** Give a bar button its icon and its words; the words are its accessible name. */
export function setButton(button, name, text) {
  let label = button.querySelector(".label");
  if (!label) {
    label = document.createElement("span");
    label.className = "label";
    button.replaceChildren(label);
  }
  const old = button.querySelector("svg.icon");
  if (!old || old.dataset.icon !== name) {
    const fresh = icon(name);
    fresh.dataset.icon = name;
    if (old) old.replaceWith(fresh);
    else button.prepend(fresh);
  }
  label.textContent = text || "";
}
