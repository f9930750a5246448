// The organiser's dashboard: plain JavaScript, no build step. The key is asked once per tab and kept
// in sessionStorage; it travels only in the Authorization header, never in a URL.
"use strict";

const KEY = "campaigns.organiserKey";
const HISTORY = 120; // seconds of rate shown in the charts
const $ = (id) => document.getElementById(id);

let feed = null; // the open live feed's AbortController
let charts = null; // the open campaign page's charts

const key = () => sessionStorage.getItem(KEY);

/** Calls the HTTP/JSON API; an error answer is thrown with its ErrorInfo reason. */
async function api(path) {
  const response = await fetch(path, { headers: { Authorization: "Bearer " + key() } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw refusal(response.status, body);
  return body;
}

function refusal(status, body) {
  const info = (body.details || []).find((d) => d.reason) || {};
  const error = new Error(body.message || "HTTP " + status);
  error.reason = info.reason || "HTTP_" + status;
  error.status = status;
  return error;
}

/** What to tell the organiser when the key is not an organiser's. */
function keyProblem(error) {
  switch (error.reason) {
    case "MISSING_API_KEY":
    case "INVALID_API_KEY":
      return "This key was not accepted (" + error.reason + "): it is unknown, mistyped or revoked. Enter an organiser key.";
    case "WRONG_ROLE":
      return "This key is not an organiser's (" + error.reason + "). The dashboard needs an organiser key.";
    default:
      return null;
  }
}

function show(section) {
  for (const id of ["login", "campaigns", "campaign"]) $(id).hidden = id !== section;
  $("forget").hidden = section === "login";
}

function askForKey(message) {
  sessionStorage.removeItem(KEY);
  stopFeed();
  $("where").textContent = "";
  $("login-error").textContent = message || "";
  $("login-error").hidden = !message;
  show("login");
  $("key").value = "";
  $("key").focus();
}

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("key").value.trim());
  route();
});

$("forget").addEventListener("click", () => askForKey());
window.addEventListener("hashchange", route);

/** #/ is the campaign list; #/campaigns/{id} a campaign's live page. */
async function route() {
  stopFeed();
  if (!key()) return askForKey();
  const match = location.hash.match(/^#\/campaigns\/(.+)$/);
  try {
    if (match) await openCampaign(decodeURIComponent(match[1]));
    else await listCampaigns();
  } catch (error) {
    const problem = keyProblem(error);
    if (problem) askForKey(problem);
    else showError(error);
  }
}

function showError(error) {
  show("campaign");
  $("c-error").textContent = (error.reason ? error.reason + ": " : "") + error.message;
  $("c-error").hidden = false;
}

const statusName = (s) => (s || "").replace(/^CAMPAIGN_STATUS_/, "");

async function listCampaigns() {
  const campaigns = [];
  let token = "";
  do {
    const page = await api("/v1/campaigns?pageSize=100" + (token ? "&pageToken=" + encodeURIComponent(token) : ""));
    campaigns.push(...(page.campaigns || []));
    token = page.nextPageToken;
  } while (token && campaigns.length < 1000);

  $("where").textContent = "Campaigns";
  const list = $("campaign-list");
  list.replaceChildren(...campaigns.map((c) => {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = "#/campaigns/" + encodeURIComponent(c.campaignId);
    link.append(text("strong", c.name || c.campaignId), " ", badge(c.status), text("div", c.campaignId, "id"));
    item.append(link);
    return item;
  }));
  $("campaigns-empty").hidden = campaigns.length > 0;
  show("campaigns");
}

async function openCampaign(id) {
  const campaign = await api("/v1/campaigns/" + encodeURIComponent(id));
  $("where").textContent = campaign.campaignId;
  $("c-name").textContent = campaign.name || campaign.campaignId;
  $("c-error").hidden = true;
  show("campaign");
  charts = { claims: chart("claims-chart"), redemptions: chart("redemptions-chart") };
  const drawn = charts;
  startFeed(id, (snapshot) => render(snapshot, drawn));
}

/** Reads the silo's live feed (server-sent events, one a second) with the key in a header; reconnects on a drop. */
function startFeed(id, onSnapshot) {
  const controller = new AbortController();
  feed = controller;
  (async () => {
    while (!controller.signal.aborted) {
      try {
        const response = await fetch("/dashboard/live/" + encodeURIComponent(id), {
          headers: { Authorization: "Bearer " + key() },
          signal: controller.signal,
        });
        if (!response.ok) {
          const error = refusal(response.status, await response.json().catch(() => ({})));
          const problem = keyProblem(error);
          if (problem) return askForKey(problem);
          throw error;
        }
        $("c-error").hidden = true;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const event = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = event.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
            if (data) onSnapshot(JSON.parse(data));
          }
        }
      } catch (error) {
        if (controller.signal.aborted) return;
        $("c-error").textContent = "Live figures interrupted (" + (error.reason || error.message) + "); reconnecting…";
        $("c-error").hidden = false;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  })();
}

function stopFeed() {
  if (feed) feed.abort();
  feed = null;
  if (charts) Object.values(charts).forEach((c) => c.dispose());
  charts = null;
}

// protobuf's JSON mapping writes int64 as strings.
const n = (v) => Number(v || 0);
const fmt = (v) => n(v).toLocaleString();
const yuan = (cents) => "¥" + (n(cents) / 100).toLocaleString(undefined, { maximumFractionDigits: 2 });

function render({ stats, refusals, topMerchants }, charts) {
  const total = n(stats.totalStock);
  $("c-status").replaceWith(badge(stats.status, "c-status"));
  $("remaining").textContent = fmt(stats.remaining);
  $("total-stock").textContent = fmt(total);
  $("remaining-bar").style.width = (total > 0 ? (100 * n(stats.remaining)) / total : 0) + "%";
  const budget = n(stats.budgetCents);
  $("budget-used").textContent = yuan(stats.issuedLiabilityCents);
  $("budget").textContent = budget > 0 ? "of " + yuan(budget) : "(no budget cap)";
  $("budget-bar").style.width = (budget > 0 ? Math.min(100, (100 * n(stats.issuedLiabilityCents)) / budget) : 0) + "%";
  $("issued").textContent = fmt(stats.issued);
  $("redeemed").textContent = fmt(stats.redeemed);
  $("refunded").textContent = fmt(stats.refunded);
  $("reserved").textContent = fmt(stats.reserved);
  $("order-total").textContent = yuan(stats.redeemedOrderTotalCents);
  $("as-of").textContent = "As of " + new Date(stats.asOf).toLocaleTimeString() + ".";

  // Rates by the time each push arrived: pushes come once a second, and the browser's clock need not match the silo's.
  const at = Date.now() / 1000;
  charts.claims.add(at, n(stats.issued));
  charts.redemptions.add(at, n(stats.redeemed));

  rows("by-channel", Object.entries(stats.byChannel || {}).sort((a, b) => n(b[1].issued) - n(a[1].issued))
    .map(([channel, c]) => [channel, fmt(c.issued), n(c.quota) > 0 ? fmt(c.quota) : "shared", fmt(c.redeemed)]));
  rows("by-district", Object.entries(stats.byDistrict || {}).sort((a, b) => n(b[1].issued) - n(a[1].issued))
    .map(([district, d]) => [district || "(any)", fmt(d.issued), fmt(d.redeemed)]));
  rows("top-merchants", topMerchants.map((m) => [m.merchantId, fmt(m.redemptions)]));
  rows("refusals", refusals.map((r) => [new Date(r.at).toLocaleTimeString(), r.channel, r.reason]));
  // Every silo's refusals since the drop began (the stats' refused_claims); the table is this silo's last ones.
  const reasons = Object.entries(stats.refusedClaims || {}).sort((a, b) => n(b[1]) - n(a[1]));
  $("refusal-reasons").textContent = reasons.length === 0 ? ""
    : "All refused claims: " + reasons.map(([reason, count]) => reason + " " + fmt(count)).join(" · ");
}

/** A rate chart: fed cumulative counts, it plots their rise per second. */
function chart(id) {
  const element = $(id);
  const xs = [], ys = [];
  let last = null;
  const plot = new uPlot({
    width: element.clientWidth || 400,
    height: 220,
    legend: { show: false },
    scales: { y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    series: [{}, { stroke: "#c8102e", fill: "rgba(200,16,46,.12)", width: 2 }],
    axes: [{}, { size: 60 }],
  }, [xs, ys], element);
  const resize = () => plot.setSize({ width: element.clientWidth || 400, height: 220 });
  window.addEventListener("resize", resize);
  element.replaceChildren(plot.root);
  return {
    dispose() {
      window.removeEventListener("resize", resize);
      plot.destroy();
    },
    add(at, count) {
      if (last && at > last.at) {
        xs.push(at);
        ys.push(Math.max(0, (count - last.count) / (at - last.at)));
        if (xs.length > HISTORY) { xs.shift(); ys.shift(); }
        plot.setData([xs, ys]);
      }
      if (!last || at > last.at) last = { at, count };
    },
  };
}

function rows(id, data) {
  $(id).replaceChildren(...data.map((cells) => {
    const row = document.createElement("tr");
    row.append(...cells.map((cell) => text("td", cell)));
    return row;
  }));
}

function text(tag, content, className) {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}

function badge(status, id) {
  const element = text("span", statusName(status), "badge " + statusName(status));
  if (id) element.id = id;
  return element;
}

route();
