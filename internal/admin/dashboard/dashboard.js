// The dashboard polls /api/stats every second and turns running totals
// into rates. An admin token, when the listener wants one, is read from
// the page's fragment: /#token=...
"use strict";
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const history = []; // {t, rps, hit}
let last = null;
const $ = (id) => document.getElementById(id);

function fmt(n) {
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return n >= 100 ? n.toFixed(0) : n.toFixed(1);
}
function bytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return n.toFixed(i ? 1 : 0) + " " + u[i];
}
function list(el, items) {
  el.replaceChildren(...items.map((text) => { const li = document.createElement("li"); li.textContent = text; return li; }));
}

function draw() {
  const pts = history.slice(-300);
  const max = Math.max(1, ...pts.map((p) => p.rps));
  const x = (i) => (600 * i / Math.max(1, pts.length - 1)).toFixed(1);
  $("rps-line").setAttribute("points", pts.map((p, i) => x(i) + "," + (155 - 150 * p.rps / max).toFixed(1)).join(" "));
  $("hit-line").setAttribute("points", pts.filter((p) => p.hit !== null).map((p, i) => x(i) + "," + (155 - 150 * p.hit).toFixed(1)).join(" "));
}

function show(s) {
  if (last) {
    const dt = (s.time - last.time) / 1000;
    const rps = (s.requests - last.requests) / dt;
    const cached = (s.hits - last.hits) + (s.misses - last.misses);
    const hit = cached > 0 ? (s.hits - last.hits) / cached : null;
    history.push({ t: s.time, rps, hit });
    $("rps").textContent = fmt(rps);
    $("hit-ratio").textContent = hit === null ? "–" : (100 * hit).toFixed(1) + " %";
    for (const c of ["2xx", "3xx", "4xx", "5xx"]) {
      $("status-" + c).textContent = fmt(((s.status[c] || 0) - (last.status[c] || 0)) / dt);
    }
    const before = new Map((last.origins || []).map((o) => [o.distribution + "/" + o.origin, o]));
    $("origins").replaceChildren(...(s.origins || []).map((o) => {
      const p = before.get(o.distribution + "/" + o.origin) || { requests: 0, errors: 0, seconds: 0 };
      const n = o.requests - p.requests, errs = o.errors - p.errors;
      const latency = n > 0 ? (o.seconds - p.seconds) / n : (o.requests ? o.seconds / o.requests : 0);
      const tr = document.createElement("tr");
      tr.dataset.origin = o.origin;
      const health = errs > 0 ? ["bad", "failing"] : ["ok", "healthy"];
      for (const [text, cls] of [[o.distribution], [o.origin], [health[1], health[0]], [fmt(n / dt)], [(latency * 1000).toFixed(1) + " ms"], [String(o.errors)]]) {
        const td = document.createElement("td");
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      return tr;
    }));
    draw();
  }
  $("connections").textContent = String(s.connections);
  $("cache").textContent = s.cache_objects + " objects, " + bytes(s.cache_bytes);
  list($("certificates"), (s.certificates || []).map((c) =>
    c.name + ": expires " + new Date(c.expires * 1000).toISOString().slice(0, 10) + " (" + Math.floor((c.expires * 1000 - Date.now()) / 864e5) + " days)"));
  const c = s.cluster;
  $("cluster-section").hidden = !c;
  if (c) {
    $("cluster-state").textContent = "node " + c.node + ": " + (c.up ? "up" : "degraded for " + Math.round(c.down_for) + " s (Redis does not answer)") +
      ", invalidation lag " + c.lag_seconds.toFixed(1) + " s";
    list($("members"), (c.members || []).map((m) =>
      m.name + (m.name === c.node ? " (this node)" : "") + (m.advertise ? " at " + m.advertise : "") + ", applied " + m.applied + ", up since " + m.started));
  }
  list($("reloads"), (s.reloads || []).slice().reverse().map((r) => r.time + " " + (r.ok ? "ok" : "refused: " + r.error)));
  list($("invalidations"), (s.invalidations || []).map((i) => i.create_time + " " + i.id + " " + i.distribution + " " + i.paths.join(" ") + " " + i.status));
  $("state").textContent = "live, " + new Date(s.time).toLocaleTimeString();
  last = s;
}

async function poll() {
  try {
    const r = await fetch("api/stats", { headers: token ? { Authorization: "Bearer " + token } : {} });
    if (!r.ok) throw new Error(r.status === 401 ? "the admin token is needed: open /#token=..." : "HTTP " + r.status);
    show(await r.json());
  } catch (e) {
    $("state").textContent = String(e.message || e);
  }
  setTimeout(poll, 1000);
}
poll();
