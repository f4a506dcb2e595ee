// The mock's console: the request journal live (server-sent events), the world browser, demo users
// and tokens, webhook deliveries (when a plugin offers GET /__admin/deliveries), reset and snapshots.
// Plain JavaScript, no build step; it only talks to /__admin.
"use strict";

const $ = (selector) => document.querySelector(selector);
const state = { requests: [], selected: null, routes: [], schema: "", offset: 0, limit: 50, entity: null };
const MAX_ROWS = 500;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "onclick") node.onclick = v;
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child ?? ""));
  return node;
}

// With --admin-token (or a server bound beyond loopback) the admin API wants the token: the console
// asks for it once and keeps it for this browser tab.
const TOKEN_KEY = "epilot-mock-admin-token";
const adminToken = () => sessionStorage.getItem(TOKEN_KEY) || "";

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (adminToken()) headers.Authorization = `Bearer ${adminToken()}`;
  const response = await fetch(path, { ...options, headers });
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (response.status === 401 && path.startsWith("/__admin") && !options.retried) {
    const given = window.prompt("This mock's admin API needs its admin token (printed at start):", "");
    if (given) {
      sessionStorage.setItem(TOKEN_KEY, given.trim());
      return api(path, { ...options, retried: true });
    }
  }
  if (!response.ok) throw new Error(`${options.method || "GET"} ${path}: ${response.status} ${body && body.message || text}`);
  return body;
}

function withToken(url) {
  return adminToken() ? `${url}${url.includes("?") ? "&" : "?"}admin_token=${encodeURIComponent(adminToken())}` : url;
}

function notice(text) {
  const box = $("#notice");
  box.textContent = text;
  box.hidden = !text;
  if (text) setTimeout(() => { if (box.textContent === text) box.hidden = true; }, 6000);
}

function pretty(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

// -- tabs ----------------------------------------------------------------------------------------

function showTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll(".tab")) s.classList.toggle("active", s.id === name);
  if (name === "world") loadSchemas();
  if (name === "tokens") loadTokens();
  if (name === "deliveries") loadDeliveries();
  if (name === "overrides") loadOverrides();
}

// -- requests ------------------------------------------------------------------------------------

function isAdmin(entry) { return entry.path.startsWith("/__admin") || entry.path.startsWith("/__docs"); }

function visible(entry) {
  if (!$("#show-admin").checked && isAdmin(entry)) return false;
  const filter = $("#req-filter").value.trim().toLowerCase();
  if (!filter) return true;
  return [entry.path, entry.operation_id || "", String(entry.status), entry.method].some(v => v.toLowerCase().includes(filter));
}

function requestRow(entry, fresh) {
  const row = el("tr", { "data-id": entry.id, "data-operation": entry.operation_id || "", class: fresh ? "new" : "" },
    el("td", {}, (entry.started_at || "").slice(11, 23)),
    el("td", {}, entry.method),
    el("td", {}, entry.path + (entry.query ? "?" + entry.query : "")),
    el("td", {}, entry.operation_id || "—"),
    el("td", { class: "s" + String(entry.status)[0] }, String(entry.status)),
    el("td", {}, String(entry.duration_ms)));
  row.onclick = () => selectRequest(entry);
  return row;
}

function renderRequests() {
  const body = $("#request-table tbody");
  body.replaceChildren(...state.requests.filter(visible).slice().reverse().map(e => requestRow(e, false)));
  $("#req-count").textContent = `${state.requests.length} in the journal`;
}

function addRequest(entry) {
  if (state.requests.some(e => e.id === entry.id)) return;
  state.requests.push(entry);
  if (state.requests.length > MAX_ROWS) state.requests.shift();
  if (visible(entry)) $("#request-table tbody").prepend(requestRow(entry, true));
  $("#req-count").textContent = `${state.requests.length} in the journal`;
}

function message(title, part) {
  const out = [el("h3", {}, title)];
  if (!part) return out;
  const headers = Object.entries(part.headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
  out.push(el("pre", { class: "headers" }, headers));
  if (part.body !== null && part.body !== undefined) {
    const shown = part.json !== undefined ? pretty(part.json) : part.body;
    out.push(el("pre", { class: "body" }, shown));
    if (part.truncated) out.push(el("p", { class: "hint" }, `cut at the journal's limit (${part.body_size} bytes in all)`));
  }
  return out;
}

// Entity ids a request names: ids in its path and the _id fields of its bodies.
function mentionedIds(entry) {
  const found = new Set();
  for (const segment of entry.path.split("/")) {
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(segment)) found.add(segment);
  }
  const walk = (value, depth) => {
    if (!value || typeof value !== "object" || depth > 3 || found.size > 12) return;
    if (Array.isArray(value)) { value.slice(0, 5).forEach(v => walk(v, depth + 1)); return; }
    if (typeof value._id === "string") found.add(value._id);
    for (const v of Object.values(value)) walk(v, depth + 1);
  };
  walk(entry.response && entry.response.json, 0);
  walk(entry.request && entry.request.json, 0);
  return [...found];
}

function selectRequest(entry) {
  state.selected = entry.id;
  for (const row of document.querySelectorAll("#request-table tbody tr")) {
    row.classList.toggle("selected", Number(row.dataset.id) === entry.id);
  }
  const detail = $("#request-detail");
  const ids = mentionedIds(entry);
  const links = ids.length ? el("p", {}, "Entities: ", ...ids.flatMap(id => [
    el("a", { class: "entity", "data-testid": "entity-link", onclick: () => openEntity(id) }, id), " "]))
    : el("p", { class: "hint" }, "No entity ids in this request.");
  const extras = Object.keys(entry.extras || {}).length ? [el("h3", {}, "Extras"), el("pre", {}, pretty(entry.extras))] : [];
  detail.replaceChildren(
    el("h3", {}, `${entry.method} ${entry.path}${entry.query ? "?" + entry.query : ""}`),
    el("p", {}, `#${entry.id} · ${entry.operation_id || "no operation"}${entry.api ? " (" + entry.api + ")" : ""} · `,
       el("span", { class: "s" + String(entry.status)[0] }, String(entry.status)), ` · ${entry.duration_ms} ms · ${entry.started_at}`),
    links, ...message("Request", entry.request), ...message("Response", entry.response), ...extras);
}

async function loadRequests() {
  const data = await api("/__admin/requests?limit=200");
  state.requests = data.requests;
  renderRequests();
  return state.requests.length ? state.requests[state.requests.length - 1].id : 0;
}

function follow(since) {
  const source = new EventSource(withToken(`/__admin/requests/stream?since_id=${since}`));
  source.addEventListener("hello", () => $("#live").className = "on");
  source.addEventListener("request", (event) => addRequest(JSON.parse(event.data)));
  source.onerror = () => { $("#live").className = "off"; };  // the browser reconnects by itself
  source.onopen = () => { $("#live").className = "on"; };
}

// -- world ---------------------------------------------------------------------------------------

async function loadSchemas() {
  let data;
  try { data = await api("/__admin/store/schemas"); } catch (error) {
    $("#schema-list").replaceChildren(el("li", { class: "hint" }, "No store: no stateful plugin.")); return;
  }
  const items = [{ schema: "", count: data.total }, ...data.schemas].map(({ schema, count }) => {
    const li = el("li", { "data-schema": schema, class: schema === state.schema ? "active" : "" },
      el("span", {}, schema || "all schemas"), el("span", { class: "hint" }, String(count)));
    li.onclick = () => { state.schema = schema; state.offset = 0; loadSchemas(); loadEntities(); };
    return li;
  });
  $("#schema-list").replaceChildren(...items);
  loadEntities();
}

async function loadEntities() {
  const params = new URLSearchParams({ schema: state.schema, q: $("#world-search").value.trim(),
                                       limit: state.limit, offset: state.offset });
  const data = await api(`/__admin/store/entities?${params}`);
  const rows = data.entities.map(e => {
    const row = el("tr", { "data-id": e._id }, el("td", {}, e._schema), el("td", {}, e._title || ""),
      el("td", {}, el("code", {}, e._id)), el("td", {}, e._updated_at || e._created_at || ""));
    row.onclick = () => openEntity(e._id);
    return row;
  });
  $("#entity-table tbody").replaceChildren(...rows);
  const pager = $("#entity-pager");
  const prev = el("button", {}, "‹ previous"), next = el("button", {}, "next ›");
  prev.disabled = state.offset === 0; next.disabled = state.offset + state.limit >= data.total;
  prev.onclick = () => { state.offset = Math.max(0, state.offset - state.limit); loadEntities(); };
  next.onclick = () => { state.offset += state.limit; loadEntities(); };
  pager.replaceChildren(prev, el("span", {}, `${data.total ? state.offset + 1 : 0}–${Math.min(state.offset + state.limit, data.total)} of ${data.total}`), next);
}

function relationList(title, items) {
  if (!items.length) return [el("h3", {}, title), el("p", { class: "hint" }, "none")];
  return [el("h3", {}, title), el("ul", {}, ...items.map(r => el("li", {},
    `${r.attribute}: `, el("a", { class: "entity", onclick: () => openEntity(r.id) }, r.title || r.id),
    ` (${r.schema || "missing"})`)))];
}

async function openEntity(id) {
  if (!$("#world").classList.contains("active")) showTab("world");
  const detail = $("#entity-detail");
  let data;
  try { data = await api(`/__admin/store/entities/${encodeURIComponent(id)}`); } catch (error) {
    detail.replaceChildren(el("p", { class: "hint" }, `${id} is not in the store (${error.message}).`)); return;
  }
  state.entity = id;
  detail.replaceChildren(
    el("h3", { "data-testid": "entity-title" }, `${data.entity._schema}: ${data.entity._title || id}`),
    el("p", {}, el("code", {}, id)),
    ...relationList("Relations", data.relations), ...relationList("Related from", data.related_from),
    el("h3", {}, "Document"), el("pre", { "data-testid": "entity-json" }, pretty(data.entity)));
}

// -- tokens --------------------------------------------------------------------------------------

async function copy(text, button) {
  try { await navigator.clipboard.writeText(text); } catch {
    const area = el("textarea", {}, text); document.body.append(area); area.select();
    document.execCommand("copy"); area.remove();
  }
  button.textContent = "copied"; setTimeout(() => button.textContent = "copy", 1200);
}

async function loadTokens() {
  const data = await api("/__admin/tokens");
  const rows = data.tokens.map(t => {
    const button = el("button", { "data-testid": "copy-token" }, "copy");
    button.onclick = () => copy(t.token, button);
    const claims = Object.entries(t).filter(([k]) => !["token", "kind", "subject", "name"].includes(k))
      .map(([k, v]) => `${k}=${v}`).join(" ");
    return el("tr", {}, el("td", {}, el("code", {}, t.token)), el("td", {}, button), el("td", {}, t.kind),
      el("td", {}, t.name || t.subject), el("td", {}, claims));
  });
  $("#token-table tbody").replaceChildren(...rows);
}

// -- webhook deliveries (a plugin's route) -----------------------------------------------------------

async function loadDeliveries() {
  const data = await api("/__admin/deliveries");
  const rows = [];
  for (const d of data.deliveries) {
    const row = el("tr", {}, el("td", {}, d.created_at || ""), el("td", {}, d.event_name || ""),
      el("td", {}, d.status || ""), el("td", {}, String((d.attempts || []).length)),
      el("td", {}, el("code", {}, d.ack_id || "")), el("td", {}, d.acknowledged_at || ""));
    const detail = el("tr", { hidden: "" }, el("td", { colspan: "6" }, el("pre", {}, pretty(d))));
    row.onclick = () => { detail.hidden = !detail.hidden; };
    rows.push(row, detail);
  }
  $("#delivery-table tbody").replaceChildren(...rows);
}

// -- overrides -----------------------------------------------------------------------------------

async function loadOverrides() {
  const data = await api("/__admin/overrides");
  const rows = data.overrides.map((o) => {
    const answer = o.sequence ? `sequence of ${o.sequence.length}` : JSON.stringify(o.answer);
    const remove = el("button", { onclick: async () => {
      await api(`/__admin/overrides/${encodeURIComponent(o.id)}`, { method: "DELETE" });
      loadOverrides();
    } }, "Remove");
    return el("tr", { class: o.active ? "" : "inactive", "data-override": o.id },
      el("td", {}, el("code", {}, o.id)), el("td", {}, el("code", {}, JSON.stringify(o.match))),
      el("td", {}, el("code", {}, answer)), el("td", {}, String(o.priority)), el("td", {}, String(o.hits)),
      el("td", {}, o.remaining === null || o.remaining === undefined ? "∞" : String(o.remaining)), el("td", {}, remove));
  });
  $("#override-table tbody").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "7", class: "hint" },
    "No overrides: every request gets its usual answer."))]));
}

// -- start ---------------------------------------------------------------------------------------

async function start() {
  for (const b of document.querySelectorAll("#tabs button")) b.onclick = () => showTab(b.dataset.tab);
  $("#req-filter").oninput = renderRequests;
  $("#show-admin").onchange = renderRequests;
  $("#world-search").onchange = () => { state.offset = 0; loadEntities(); };
  $("#refresh-deliveries").onclick = loadDeliveries;
  $("#refresh-overrides").onclick = loadOverrides;
  $("#clear-overrides").onclick = async () => { await api("/__admin/overrides", { method: "DELETE" }); loadOverrides(); };
  $("#clear-requests").onclick = async () => { await api("/__admin/requests", { method: "DELETE" }); state.requests = []; renderRequests(); };
  $("#reset").onclick = async () => {
    if (!confirm("Reset the world to its seed? Every write since the start is lost.")) return;
    await api("/__admin/reset", { method: "POST" });
    state.requests = []; renderRequests();
    $("#entity-detail").replaceChildren(el("p", { class: "hint" }, "The world was reset."));
    notice("The world is back at its seed.");
    if ($("#world").classList.contains("active")) loadSchemas();
  };
  $("#snapshot").onclick = () => { $("#snapshot").href = withToken("/__admin/snapshot"); };
  $("#snapshot-file").onchange = async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    try {
      const result = await api("/__admin/snapshot", { method: "PUT", headers: { "Content-Type": "application/json" },
                                                      body: await file.text() });
      notice(`Snapshot loaded: ${result.entities} entities, ${result.records} records.`);
    } catch (error) { notice(error.message); }
    event.target.value = "";
  };
  const health = await api("/__admin/health");
  state.routes = health.admin_routes || [];
  for (const b of document.querySelectorAll("#tabs button[data-needs]")) b.hidden = !state.routes.includes(b.dataset.needs);
  // Other GET routes plugins added: shown as JSON under "Plugin data".
  const own = /^GET \/__admin\/(health|tokens|requests|snapshot|openapi\.json|clock|store|ui|deliveries)/;
  const extra = state.routes.filter(r => r.startsWith("GET ") && !own.test(r) && !r.includes("{"));
  const tab = document.querySelector('#tabs button[data-tab="plugin"]');
  tab.hidden = extra.length === 0;
  $("#plugin-route").replaceChildren(...extra.map(r => el("option", { value: r.slice(4) }, r.slice(4))));
  $("#plugin-load").onclick = async () => { $("#plugin-output").textContent = pretty(await api($("#plugin-route").value)); };
  follow(await loadRequests());
}

start().catch(error => notice(`console: ${error.message}`));
