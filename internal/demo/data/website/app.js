// A tiny single-page app: client-side routes, data from the API on the same
// origin. Deep links such as /docs/3 work because the edge answers a
// browser's 404 with index.html, while the API's own 404s stay JSON.
"use strict";

const content = document.getElementById("content");

function el(tag, text, attrs = {}) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

async function showNote(id) {
  content.replaceChildren(el("p", "Loading note " + id + "…"));
  const res = await fetch("/api/notes/" + encodeURIComponent(id), { headers: { Accept: "application/json" } });
  const body = await res.json();
  if (!res.ok) {
    content.replaceChildren(el("h1", "Note " + id), el("p", "The API answered " + res.status + ": " + body.detail, { class: "error", id: "error" }));
    return;
  }
  const article = el("article", undefined, { id: "note", "data-id": String(body.id) });
  article.append(el("h1", body.title, { id: "note-title" }), el("p", body.body, { id: "note-body" }));
  if (body.thumbnail) article.append(el("img", undefined, { src: body.thumbnail, alt: body.title, width: "96", height: "96" }));
  content.replaceChildren(article);
}

async function showHome() {
  const res = await fetch("/api/notes", { headers: { Accept: "application/json" } });
  const notes = await res.json();
  const list = el("ul", undefined, { id: "notes" });
  for (const n of notes) {
    const li = el("li");
    li.append(el("a", n.title, { href: "/docs/" + n.id, "data-link": "" }));
    list.append(li);
  }
  content.replaceChildren(el("h1", "Notes"), list);
}

function route() {
  const m = location.pathname.match(/^\/docs\/([^/]+)\/?$/);
  if (m) return showNote(decodeURIComponent(m[1]));
  if (location.pathname === "/" || location.pathname === "/index.html") return showHome();
  content.replaceChildren(el("h1", "Page not found"), el("p", "No page at " + location.pathname + "."));
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[data-link]");
  if (!a) return;
  ev.preventDefault();
  history.pushState(null, "", a.getAttribute("href"));
  route();
});
window.addEventListener("popstate", route);
route().catch((err) => content.replaceChildren(el("p", "Error: " + err.message, { class: "error" })));
