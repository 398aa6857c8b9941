#include "report/html_page.h"

namespace mex {

// Colours as variables: light by default, dark under prefers-color-scheme, plain for print.
const char kHtmlStyle[] =
    R"CSS(:root{--bg:#fff;--fg:#1b1f24;--muted:#5c6670;--line:#d5dae0;--panel:#f5f7f9;
--ok:#2e9b4f;--fail:#d1343a;--retry:#e8912d;--cancel:#9aa3ad;--run:#3577d4;--wait:#b08fd8;
--stall:#c2179b;--crit:#111;--link:#2759a8}
@media (prefers-color-scheme:dark){:root{--bg:#15181c;--fg:#e3e7eb;--muted:#9aa4ae;--line:#353c44;
--panel:#1e2328;--ok:#46b86a;--fail:#ef5a5f;--retry:#f0a447;--cancel:#77808a;--run:#5b9cf0;
--wait:#9b7fc4;--stall:#ff5fd2;--crit:#fff;--link:#8ab4f8}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,sans-serif}
header,main{max-width:1280px;margin:0 auto;padding:0 16px}
header{padding-top:16px}h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:24px 0 8px;
border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:12px 0 6px}
.muted{color:var(--muted)}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid var(--line);padding:3px 8px;
text-align:left;vertical-align:top}th{background:var(--panel)}td.num{text-align:right}
.card{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px 12px;
margin:8px 0}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;color:#fff;
background:var(--cancel)}
.badge.succeeded,.badge.passed{background:var(--ok)}.badge.failed{background:var(--fail)}
.badge.running,.badge.retry_wait{background:var(--run)}.badge.interrupted{background:var(--retry)}
.bar-out{display:inline-block;width:160px;height:10px;border:1px solid var(--line);
vertical-align:middle}.bar-in{height:100%;background:var(--ok)}
pre{background:var(--panel);border:1px solid var(--line);padding:6px 8px;overflow:auto;
max-height:360px;white-space:pre-wrap;word-break:break-all;font-size:12px}
.scroll{overflow:auto;border:1px solid var(--line)}
svg text{fill:var(--fg);font-size:11px}svg .axis{stroke:var(--line)}
.bar{stroke:none}.o-succeeded{fill:var(--ok)}.o-failed{fill:var(--fail)}.o-retried{fill:var(--retry)}
.o-cancelled{fill:var(--cancel)}.o-running{fill:var(--run)}
.bar.critical{stroke:var(--crit);stroke-width:2}
.wait{fill:var(--wait);opacity:.55}.wait.w-resources{fill:var(--cancel)}.wait.w-queue{fill:var(--run);opacity:.35}
.stall{fill:var(--stall)}.session-mark{stroke:var(--run);stroke-width:2;stroke-dasharray:5 3}
.phase-mark{stroke:var(--muted);stroke-dasharray:2 3}.interrupt-mark{stroke:var(--fail);
stroke-dasharray:4 2}
.conc{fill:none;stroke:var(--run);stroke-width:1.5}
.node rect{fill:var(--panel);stroke:var(--muted)}.node.s-succeeded rect{stroke:var(--ok);
fill:color-mix(in srgb,var(--ok) 18%,var(--bg))}.node.s-failed rect{stroke:var(--fail);
fill:color-mix(in srgb,var(--fail) 18%,var(--bg))}.node.s-skipped rect{stroke-dasharray:3 2}
.node.critical rect{stroke:var(--crit);stroke-width:2.5}
.edge{fill:none;stroke:var(--muted);opacity:.6}.edge.critical{stroke:var(--crit);opacity:1;
stroke-width:2}
.legend span{display:inline-block;margin-right:12px}.legend i{display:inline-block;width:12px;
height:10px;margin-right:4px;vertical-align:middle}
.detail{position:sticky;bottom:0;background:var(--panel);border:1px solid var(--line);
padding:8px 12px;margin-top:8px;max-height:50vh;overflow:auto}
.detail dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}
.detail dt{color:var(--muted)}.detail dd{margin:0;word-break:break-all}
button{font:inherit;padding:2px 10px;margin:4px 4px 4px 0;cursor:pointer}
input,select{font:inherit;margin-right:8px}
.pager{margin:6px 0}
@media print{*{-webkit-print-color-adjust:exact;print-color-adjust:exact}body{font-size:11px}
button,.pager,.controls,#detail{display:none!important}.scroll{overflow:visible;border:0}
section{break-inside:avoid-page}pre{max-height:none}h2{break-after:avoid}}
)CSS";

const char kHtmlBody[] = R"HTML(<header><h1 id="title">mex report</h1>
<p id="subtitle" class="muted"></p></header>
<main>
<noscript><p>This report is drawn by its inline script; report.json beside it holds the same
data.</p></noscript>
<section id="summary"><h2>Summary</h2><div id="summary-body"></div></section>
<section id="phases"><h2>Phases and gates</h2><div id="phases-body"></div></section>
<section id="timeline"><h2>Timeline</h2><div class="legend" id="legend"></div>
<div id="timeline-body" class="scroll"></div><div id="detail" class="detail" hidden></div></section>
<section id="concurrency"><h2>Concurrency</h2><div id="concurrency-body"></div></section>
<section id="graph"><h2>Task graph</h2><div id="graph-note" class="muted"></div>
<div id="graph-body" class="scroll"></div></section>
<section id="failures"><h2>Failures</h2><div id="failures-body"></div></section>
<section id="tasks"><h2>Tasks</h2><div id="tasks-body"></div></section>
</main>
)HTML";

// Every text of the report reaches the page through textContent or setAttribute: none of it is
// ever parsed as markup. Tasks and attempts are arrays; the T_ and A_ constants name their
// fields (report/html_report.cc writes them).
const char kHtmlScript[] = R"JS((function () {
'use strict';
const started = performance.now();
const D = JSON.parse(document.getElementById('mex-report').textContent);
const T_ID = 0, T_PHASE = 1, T_STATE = 2, T_AGENT = 4, T_DEPS = 5, T_SECONDS = 6,
  T_LAYER = 7, T_ORDER = 8, T_CRIT = 9, T_CMD = 10, T_PROMPT = 11;
const A_TASK = 0, A_NUM = 1, A_START = 2, A_END = 3, A_EXIT = 4, A_SIGNAL = 5, A_ENDED = 6,
  A_CLASS = 7, A_REASON = 8, A_OUTCOME = 9, A_ROW = 10, A_LOG = 11, A_TAIL = 12;
const SVGNS = 'http://www.w3.org/2000/svg';
const tasks = D.tasks, attempts = D.attempts;
const byTask = tasks.map(() => []);
attempts.forEach((a, i) => byTask[a[A_TASK]].push(i));
const phaseName = (p) => (p >= 0 && p < D.phases.length ? D.phases[p].name : '');

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  if (attrs) for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function sv(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function dur(s) {
  if (s === null || s === undefined) return '—';
  if (s < 1) return Math.round(s * 1000) + ' ms';
  if (s < 60) return s.toFixed(1) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm' + String(Math.round(s - m * 60)).padStart(2, '0') + 's';
  return Math.floor(m / 60) + 'h' + String(m % 60).padStart(2, '0') + 'm';
}
const usd = (x) => '$' + (x || 0).toFixed(4);
const iso = (t) => (t ? new Date(t * 1000).toISOString().replace('.000Z', 'Z') : '—');
function table(headers, rows) {
  const t = el('table'), head = el('tr'), body = el('tbody');
  if (headers) {
    headers.forEach((h) => head.appendChild(el('th', null, h)));
    t.appendChild(el('thead')).appendChild(head);
  }
  rows.forEach((r) => {
    const tr = el('tr');
    r.forEach((c) => {
      const td = el('td');
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? '' : String(c);
      if (typeof c === 'number') td.className = 'num';
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
  t.appendChild(body);
  return t;
}
const badge = (state) => el('span', {class: 'badge ' + state}, state);
// A "show more" pager over `items`: `draw(item)` gives each one's element; `size` at a time.
function paged(container, items, size, draw, noun) {
  let shown = 0;
  const list = el('div'), more = el('button', {class: 'more'});
  container.appendChild(list);
  container.appendChild(more);
  function step() {
    const next = Math.min(items.length, shown + size);
    const frag = document.createDocumentFragment();
    for (; shown < next; ++shown) frag.appendChild(draw(items[shown]));
    list.appendChild(frag);
    const left = items.length - shown;
    more.hidden = left === 0;
    more.textContent = 'Show ' + Math.min(size, left) + ' more ' + noun + ' (' + left + ' more of ' + items.length + ')';
  }
  more.addEventListener('click', step);
  step();
}

function summary() {
  const r = D.run, c = D.counts, body = document.getElementById('summary-body');
  document.getElementById('title').textContent = 'mex report: ' + r.milestone;
  document.getElementById('subtitle').textContent = 'run ' + r.id + ', ' + r.milestone_file;
  document.title = 'mex report: ' + r.milestone + ' — ' + r.state;
  const progress = el('span');
  const out = progress.appendChild(el('span', {class: 'bar-out'}));
  out.appendChild(el('div', {class: 'bar-in', style: 'width:' + Math.round(100 * r.progress) + '%'}));
  progress.appendChild(document.createTextNode(' ' + Math.round(100 * r.progress) + '%'));
  const notRun = c.pending + c.ready + c.running + c.retry_wait;
  const rows = [
    ['State', badge(r.state)],
    ['Exit code', r.exit_code === null ? 'running' : r.exit_code],
    ['Started', iso(r.started_at)],
    ['Ended', iso(r.ended_at)],
    ['Duration', dur(r.duration_s)],
    ['Weighted progress', progress],
    ['Tasks', c.tasks + ': ' + c.succeeded + ' succeeded, ' + c.failed + ' failed, ' + c.skipped +
      ' skipped, ' + c.cancelled + ' cancelled, ' + notRun + ' not run' + (c.removed ? ', ' + c.removed + ' removed' : '')],
    ['Attempts', c.attempts],
    ['Cost', usd(D.cost.usd) + ' (' + D.cost.input_tokens + ' input, ' + D.cost.output_tokens + ' output tokens)'],
  ];
  const t = table(null, rows);
  t.id = 'summary-table';
  body.appendChild(t);
  const sessions = el('ol', {id: 'sessions'});
  D.sessions.forEach((s) => sessions.appendChild(el('li', {'data-session': s.number},
    'session ' + s.number + ': started ' + iso(s.started_at) + (s.resumed ? ', resumed, ' + s.kept + ' tasks kept' : ''))));
  body.appendChild(el('h3', null, 'Sessions (' + D.sessions.length + ')'));
  body.appendChild(sessions);
  if (D.interrupts.length) {
    body.appendChild(el('h3', null, 'Interrupts'));
    body.appendChild(table(['At', 'Why'], D.interrupts.map((i) => [iso(i.at), i.reason])));
  }
  const spend = (x) => [usd(x.cost_usd), x.input_tokens, x.output_tokens, x.attempts];
  const agentRows = D.cost.by_agent.map((a) => ['agent ' + a.agent].concat(spend(a)));
  const phaseRows = D.phases.filter((p) => p.cost.attempts > 0).map((p) => ['phase ' + p.name].concat(spend(p.cost)));
  if (agentRows.length + phaseRows.length) {
    body.appendChild(el('h3', null, 'Cost and tokens'));
    body.appendChild(table(['By', 'Cost', 'Input tokens', 'Output tokens', 'Attempts reporting'], agentRows.concat(phaseRows)));
  }
}

function phases() {
  const body = document.getElementById('phases-body');
  if (!D.phases.length) body.appendChild(el('p', {class: 'muted'}, 'No phases.'));
  D.phases.forEach((p) => {
    const card = el('div', {class: 'card phase', 'data-phase': p.name});
    const h = card.appendChild(el('h3', null, p.name + ' '));
    h.appendChild(badge(p.state));
    const c = p.counts;
    card.appendChild(el('div', null, 'weight ' + p.weight + ', ' + c.succeeded + '/' + c.tasks +
      ' tasks succeeded, ' + c.failed + ' failed, ' + c.skipped + ' skipped; reruns: ' + p.reruns +
      (p.ended_at ? '; ended ' + iso(p.ended_at) : '')));
    const g = p.gate;
    if (!g) {
      card.appendChild(el('div', {class: 'muted gate'}, 'Gate not scored yet.'));
    } else {
      const line = card.appendChild(el('div', {class: 'gate'}, 'Gate: score ' + g.score.toFixed(3) +
        (g.passed ? ' ≥ ' : ' < ') + 'min_score ' + g.min_score.toFixed(3) + ' '));
      line.appendChild(badge(g.passed ? 'passed' : 'failed'));
      const crit = (g.criteria || []).map((k) => [k.name || k.kind || '', k.weight, typeof k.score === 'number' ? k.score.toFixed(3) : k.score,
        k.passed ? 'yes' : 'no', typeof k.detail === 'string' ? k.detail : JSON.stringify(k.detail)]);
      if (crit.length) card.appendChild(table(['Criterion', 'Weight', 'Score', 'Passed', 'Detail'], crit));
      if ((g.missing || []).length) {
        card.appendChild(el('div', null, 'Missing:'));
        const ul = card.appendChild(el('ul', {class: 'missing'}));
        g.missing.forEach((m) => ul.appendChild(el('li', null, typeof m === 'string' ? m : JSON.stringify(m))));
      }
    }
    body.appendChild(card);
  });
}

const OUTCOMES = ['succeeded', 'failed', 'retried', 'cancelled', 'running'];
function legend() {
  const l = document.getElementById('legend');
  const item = (cls, text) => {
    const s = l.appendChild(el('span'));
    const sw = s.appendChild(el('i'));
    sw.style.background = 'var(--' + cls + ')';
    s.appendChild(document.createTextNode(text));
  };
  item('ok', 'succeeded'); item('fail', 'failed'); item('retry', 'failed, retried');
  item('cancel', 'cancelled'); item('run', 'running'); item('wait', 'wait before a retry');
  item('stall', 'stalled'); item('crit', 'critical path (outlined)');
}

function showDetail(i) {
  const a = attempts[i], t = tasks[a[A_TASK]], box = document.getElementById('detail');
  box.textContent = '';
  box.hidden = false;
  box.setAttribute('data-task', t[T_ID]);
  box.setAttribute('data-attempt', a[A_NUM]);
  box.appendChild(el('h3', null, t[T_ID] + ' #' + a[A_NUM]));
  const dl = box.appendChild(el('dl'));
  const add = (k, v) => {
    if (v === '' || v === null || v === undefined) return;
    dl.appendChild(el('dt', null, k));
    dl.appendChild(el('dd', null, v));
  };
  const end = a[A_END] === null ? D.end_ms : a[A_END];
  add('Phase', phaseName(t[T_PHASE]));
  add('Outcome', a[A_OUTCOME] + (t[T_CRIT] ? ' (on the critical path)' : ''));
  add('Started', iso(D.run.started_at + a[A_START] / 1000));
  add('Ran', dur((end - a[A_START]) / 1000));
  add('End', a[A_ENDED]);
  add('Exit code', a[A_EXIT]);
  if (a[A_SIGNAL]) add('Signal', a[A_SIGNAL]);
  add('Class', a[A_CLASS]);
  add('Reason', a[A_REASON]);
  add('Agent', t[T_AGENT]);
  add('Command', t[T_CMD]);
  add('Log', a[A_LOG] || (D.log_dir ? D.log_dir + '/' + t[T_ID] + '.' + a[A_NUM] + '.log' : ''));
  if (a[A_TAIL]) {
    box.appendChild(el('div', null, 'End of the log:'));
    box.appendChild(el('pre', {class: 'tail'}, a[A_TAIL]));
  }
  if (t[T_PROMPT]) {
    const d = box.appendChild(el('details'));
    d.appendChild(el('summary', null, 'Prompt'));
    d.appendChild(el('pre', null, t[T_PROMPT]));
  }
}

function timeline() {
  const body = document.getElementById('timeline-body');
  body.textContent = '';
  const waits = D.waits, stalls = D.stalls;
  let rows = 0, waitRows = 0;
  attempts.forEach((a) => { rows = Math.max(rows, a[A_ROW] + 1); });
  waits.forEach((w) => { waitRows = Math.max(waitRows, w[7] + 1); });
  const W = Math.max(700, (body.clientWidth || 1200) - 4), left = 70, right = 12, RH = 16, top = 34;
  const total = Math.max(D.end_ms, 1);
  const x = (ms) => left + (ms / total) * (W - left - right);
  const waitTop = top + rows * RH + (waitRows ? 18 : 0);
  const H = waitTop + waitRows * RH + 8;
  const svg = sv('svg', {width: W, height: H, class: 'timeline', id: 'timeline-svg'});
  for (let k = 0; k <= 8; ++k) {
    const ms = (total * k) / 8, px = x(ms);
    svg.appendChild(sv('line', {x1: px, x2: px, y1: top - 4, y2: H, class: 'axis'}));
    svg.appendChild(sv('text', {x: px, y: top - 8, 'text-anchor': k === 0 ? 'start' : k === 8 ? 'end' : 'middle'}, dur(ms / 1000)));
  }
  for (let r = 0; r < rows; ++r) svg.appendChild(sv('text', {x: 2, y: top + r * RH + 11}, 'slot ' + (r + 1)));
  if (waitRows) svg.appendChild(sv('text', {x: 2, y: waitTop + 11}, 'waits'));
  const bars = sv('g', {class: 'bars'});
  attempts.forEach((a, i) => {
    const t = tasks[a[A_TASK]];
    const end = a[A_END] === null ? D.end_ms : a[A_END];
    const px = x(a[A_START]);
    bars.appendChild(sv('rect', {x: px.toFixed(1), y: top + a[A_ROW] * RH + 1, width: Math.max(1.5, x(end) - px).toFixed(1), height: RH - 3,
      class: 'bar o-' + a[A_OUTCOME] + (t[T_CRIT] ? ' critical' : ''), 'data-task': t[T_ID], 'data-attempt': a[A_NUM], 'data-i': i}));
  });
  svg.appendChild(bars);
  const wg = sv('g', {class: 'waits'});
  waits.forEach((w) => {
    const px = x(w[5]);
    const rect = sv('rect', {x: px.toFixed(1), y: waitTop + w[7] * RH + 3, width: Math.max(1.5, x(w[6]) - px).toFixed(1), height: RH - 7,
      class: 'wait w-' + w[2], 'data-task': tasks[w[0]][T_ID], 'data-attempt': w[1]});
    rect.appendChild(sv('title', {}, tasks[w[0]][T_ID] + ': waits ' + dur((w[6] - w[5]) / 1000) +
      (w[2] === 'queue' ? ' in Slurm\'s queue for attempt ' : ' before attempt ') + w[1] +
      ' (' + w[2] + (w[3] ? ', ' + w[3] : '') + ')' + (w[4] ? ': ' + w[4] : '')));
    wg.appendChild(rect);
  });
  svg.appendChild(wg);
  const rowOf = new Map();
  attempts.forEach((a) => rowOf.set(a[A_TASK] + '#' + a[A_NUM], a[A_ROW]));
  stalls.forEach((s) => {
    const r = rowOf.get(s[0] + '#' + s[1]);
    if (r === undefined) return;
    const px = x(s[2]), py = top + r * RH;
    const mark = sv('path', {d: 'M' + (px - 5) + ' ' + py + 'h10l-5 7z', class: 'stall', 'data-task': tasks[s[0]][T_ID], 'data-attempt': s[1]});
    mark.appendChild(sv('title', {}, tasks[s[0]][T_ID] + ' #' + s[1] + ' stalled: nothing written for ' + dur(s[3])));
    svg.appendChild(mark);
  });
  const mark = (ms, cls, label, attrs) => {
    const px = x(ms);
    const line = sv('line', Object.assign({x1: px, x2: px, y1: 12, y2: H, class: cls}, attrs || {}));
    line.appendChild(sv('title', {}, label));
    svg.appendChild(line);
    const near = px > W - 160;
    svg.appendChild(sv('text', {x: near ? px - 3 : px + 3, y: 10, 'text-anchor': near ? 'end' : 'start', class: cls + '-label'}, label));
  };
  D.sessions.forEach((s) => mark(s.at_ms, 'session-mark', 'session ' + s.number + (s.resumed ? ' (resumed)' : ''), {'data-session': s.number}));
  D.phases.forEach((p) => { if (p.ended_ms !== null) mark(p.ended_ms, 'phase-mark', p.name + ' ended'); });
  D.interrupts.forEach((i) => mark(i.at_ms, 'interrupt-mark', 'interrupted'));
  const pick = (e) => {
    const i = e.target.getAttribute && e.target.getAttribute('data-i');
    if (i !== null && i !== undefined) showDetail(Number(i));
  };
  svg.addEventListener('click', pick);
  svg.addEventListener('mouseover', pick);
  body.appendChild(svg);
}

function concurrency() {
  const body = document.getElementById('concurrency-body');
  const ev = [];
  attempts.forEach((a) => { ev.push([a[A_START], 1]); ev.push([a[A_END] === null ? D.end_ms : a[A_END], -1]); });
  ev.sort((p, q) => p[0] - q[0]);
  let n = 0, peak = 0;
  const steps = [];
  // All the changes at one moment together: an attempt of 0 ms adds nothing, one that ends as
  // another starts is not counted twice.
  ev.forEach((e, i) => {
    n += e[1];
    if (i + 1 < ev.length && ev[i + 1][0] === e[0]) return;
    peak = Math.max(peak, n);
    steps.push([e[0], n]);
  });
  const W = 700, H = 120, left = 36, total = Math.max(D.end_ms, 1);
  const x = (ms) => left + (ms / total) * (W - left - 8), y = (k) => H - 16 - (k / Math.max(peak, 1)) * (H - 28);
  const svg = sv('svg', {width: W, height: H, class: 'concurrency', id: 'concurrency-svg'});
  let d = 'M' + x(0) + ' ' + y(0);
  steps.forEach((s) => { d += 'H' + x(s[0]).toFixed(1) + 'V' + y(s[1]).toFixed(1); });
  d += 'H' + x(total);
  svg.appendChild(sv('line', {x1: left, x2: W - 8, y1: y(0), y2: y(0), class: 'axis'}));
  svg.appendChild(sv('line', {x1: left, x2: left, y1: y(peak), y2: y(0), class: 'axis'}));
  svg.appendChild(sv('path', {d: d, class: 'conc'}));
  svg.appendChild(sv('text', {x: 2, y: y(peak) + 4}, String(peak)));
  svg.appendChild(sv('text', {x: 2, y: y(0) + 4}, '0'));
  svg.appendChild(sv('text', {x: W - 8, y: H - 2, 'text-anchor': 'end'}, dur(total / 1000)));
  body.appendChild(el('div', {class: 'muted'}, 'Attempts running at once; at most ' + peak + '.'));
  body.appendChild(svg);
}

function graph() {
  const body = document.getElementById('graph-body'), note = document.getElementById('graph-note');
  const G = D.graph, NW = 150, NH = 22, GX = 60, GY = 10;
  if (!tasks.length) { note.textContent = 'No tasks.'; return; }
  if (G.mode === 'groups') return groupedGraph(body, note, G);
  const perLayer = [];
  tasks.forEach((t) => { perLayer[t[T_LAYER]] = Math.max(perLayer[t[T_LAYER]] || 0, t[T_ORDER] + 1); });
  const tall = Math.max.apply(null, perLayer);
  const pos = (t) => [8 + t[T_LAYER] * (NW + GX), 8 + t[T_ORDER] * (NH + GY)];
  const svg = sv('svg', {width: 16 + perLayer.length * (NW + GX) - GX, height: 16 + tall * (NH + GY) - GY, id: 'graph-svg'});
  note.textContent = tasks.length + ' tasks in ' + G.layers + ' layers (by longest path from a task without deps); the critical path is outlined.';
  tasks.forEach((t) => {
    const [x2, y2] = pos(t);
    t[T_DEPS].forEach((d) => {
      const [x1, y1] = pos(tasks[d]);
      const mx = (x1 + NW + x2) / 2;
      svg.appendChild(sv('path', {d: 'M' + (x1 + NW) + ' ' + (y1 + NH / 2) + 'C' + mx + ' ' + (y1 + NH / 2) + ' ' + mx + ' ' + (y2 + NH / 2) + ' ' + x2 + ' ' + (y2 + NH / 2),
        class: 'edge' + (t[T_CRIT] && tasks[d][T_CRIT] ? ' critical' : '')}));
    });
  });
  tasks.forEach((t, v) => {
    const [px, py] = pos(t);
    const g = sv('g', {class: 'node s-' + t[T_STATE] + (t[T_CRIT] ? ' critical' : ''), 'data-task': t[T_ID], transform: 'translate(' + px + ',' + py + ')'});
    g.appendChild(sv('title', {}, t[T_ID] + ': ' + t[T_STATE]));
    g.appendChild(sv('rect', {width: NW, height: NH, rx: 4}));
    const id = t[T_ID];
    g.appendChild(sv('text', {x: 6, y: 15}, id.length > 22 ? id.slice(0, 21) + '…' : id));
    g.addEventListener('click', () => { if (byTask[v].length) showDetail(byTask[v][byTask[v].length - 1]); });
    svg.appendChild(g);
  });
  body.appendChild(svg);
}

function groupedGraph(body, note, G) {
  const NW = 150, NH = 44, GX = 50, GY = 14;
  const rowOf = (p) => p + 1;  // row 0: tasks without a phase
  let rows = 1, cols = 0;
  G.groups.forEach((g) => { rows = Math.max(rows, rowOf(g[0]) + 1); cols = Math.max(cols, g[1] / G.band + 1); });
  const pos = (g) => [8 + (g[1] / G.band) * (NW + GX), 8 + rowOf(g[0]) * (NH + GY)];
  const svg = sv('svg', {width: 16 + cols * (NW + GX), height: 16 + rows * (NH + GY), id: 'graph-svg'});
  note.textContent = tasks.length + ' tasks, drawn as ' + G.groups.length + ' groups: one per phase and ' +
    (G.band > 1 ? 'band of ' + G.band + ' layers' : 'layer') + ' (of ' + G.layers + '); every task is in the table below.';
  G.edges.forEach((e) => {
    const [x1, y1] = pos(G.groups[e[0]]), [x2, y2] = pos(G.groups[e[1]]);
    const p = sv('path', {d: 'M' + (x1 + NW) + ' ' + (y1 + NH / 2) + 'L' + x2 + ' ' + (y2 + NH / 2),
      class: 'edge' + (G.groups[e[0]][6] && G.groups[e[1]][6] ? ' critical' : ''), 'stroke-width': Math.min(6, 1 + Math.log10(e[2]))});
    p.appendChild(sv('title', {}, e[2] + ' deps'));
    svg.appendChild(p);
  });
  G.groups.forEach((g, i) => {
    const [px, py] = pos(g);
    const state = g[5] ? 'failed' : g[4] === g[3] ? 'succeeded' : 'pending';
    const node = sv('g', {class: 'node group s-' + state + (g[6] ? ' critical' : ''), 'data-group': i, transform: 'translate(' + px + ',' + py + ')'});
    const layers = g[1] === g[2] ? 'layer ' + g[1] : 'layers ' + g[1] + '–' + g[2];
    node.appendChild(sv('title', {}, phaseName(g[0]) + ', ' + layers + ': ' + g[3] + ' tasks, ' + g[4] + ' succeeded, ' + g[5] + ' failed' + (g[6] ? ', ' + g[6] + ' on the critical path' : '')));
    node.appendChild(sv('rect', {width: NW, height: NH, rx: 4}));
    node.appendChild(sv('text', {x: 6, y: 16}, (phaseName(g[0]) || '(no phase)').slice(0, 14) + ' · ' + layers));
    node.appendChild(sv('text', {x: 6, y: 34}, g[3] + ' tasks' + (g[5] ? ', ' + g[5] + ' failed' : '')));
    svg.appendChild(node);
  });
  body.appendChild(svg);
}

function failures() {
  const body = document.getElementById('failures-body');
  const failed = [];
  tasks.forEach((t, v) => { if (t[T_STATE] === 'failed') failed.push(v); });
  if (!failed.length) { body.appendChild(el('p', {class: 'muted'}, 'No task failed.')); return; }
  body.appendChild(el('p', null, failed.length + (failed.length === 1 ? ' failed task.' : ' failed tasks.')));
  paged(body, failed, 20, (v) => {
    const t = tasks[v], card = el('div', {class: 'card failure', 'data-task': t[T_ID]});
    card.appendChild(el('h3', null, t[T_ID]));
    const last = byTask[v].length ? attempts[byTask[v][byTask[v].length - 1]] : null;
    if (last) {
      card.appendChild(el('div', null, 'Attempt ' + last[A_NUM] + ' of phase ' + phaseName(t[T_PHASE]) + ': ' + last[A_ENDED] +
        (last[A_EXIT] !== null ? ', exit ' + last[A_EXIT] : '') + (last[A_CLASS] ? ', ' + last[A_CLASS] : '') + '. ' + last[A_REASON]));
      card.appendChild(el('div', {class: 'muted'}, 'Log: ' + (last[A_LOG] || D.log_dir + '/' + t[T_ID] + '.' + last[A_NUM] + '.log')));
      if (last[A_TAIL]) card.appendChild(el('pre', {class: 'tail'}, last[A_TAIL]));
    }
    return card;
  }, 'failures');
}

function taskTable() {
  const body = document.getElementById('tasks-body');
  const controls = body.appendChild(el('div', {class: 'controls'}));
  const search = controls.appendChild(el('input', {type: 'search', placeholder: 'task id contains…', 'aria-label': 'filter by id'}));
  const state = controls.appendChild(el('select', {'aria-label': 'filter by state'}));
  ['', 'succeeded', 'failed', 'skipped', 'cancelled', 'running', 'retry_wait', 'ready', 'pending', 'removed'].forEach((s) =>
    state.appendChild(el('option', {value: s}, s || 'every state')));
  const pager = el('div', {class: 'pager'}), holder = el('div');
  body.appendChild(pager);
  body.appendChild(holder);
  const SIZE = 100;
  let page = 0, rows = [];
  function filter() {
    const q = search.value, s = state.value;
    rows = [];
    tasks.forEach((t, v) => { if ((!s || t[T_STATE] === s) && (!q || t[T_ID].includes(q))) rows.push(v); });
    page = 0;
    draw();
  }
  function draw() {
    const pages = Math.max(1, Math.ceil(rows.length / SIZE));
    page = Math.min(page, pages - 1);
    const slice = rows.slice(page * SIZE, (page + 1) * SIZE);
    holder.textContent = '';
    const t = table(['Task', 'Phase', 'State', 'Attempts', 'Time', 'Agent', 'Deps'], slice.map((v) => {
      const t = tasks[v];
      return [t[T_ID] + (t[T_CRIT] ? ' ◆' : ''), phaseName(t[T_PHASE]), badge(t[T_STATE]), byTask[v].length, dur(t[T_SECONDS]), t[T_AGENT], t[T_DEPS].length];
    }));
    t.id = 'task-table';
    const trs = t.tBodies[0].rows;
    slice.forEach((v, i) => {
      trs[i].setAttribute('data-task', tasks[v][T_ID]);
      trs[i].addEventListener('click', () => { if (byTask[v].length) showDetail(byTask[v][byTask[v].length - 1]); });
    });
    holder.appendChild(t);
    pager.textContent = '';
    const prev = pager.appendChild(el('button', {class: 'prev'}, '← previous'));
    const next = pager.appendChild(el('button', {class: 'next'}, 'next →'));
    pager.appendChild(document.createTextNode(' page ' + (page + 1) + ' of ' + pages + ': tasks ' +
      (rows.length ? page * SIZE + 1 : 0) + '–' + (page * SIZE + slice.length) + ' of ' + rows.length +
      (rows.length < tasks.length ? ' (filtered from ' + tasks.length + ')' : '') + '. ◆ on the critical path.'));
    prev.disabled = page === 0;
    next.disabled = page + 1 >= pages;
    prev.addEventListener('click', () => { --page; draw(); });
    next.addEventListener('click', () => { ++page; draw(); });
  }
  search.addEventListener('input', filter);
  state.addEventListener('change', filter);
  filter();
}

summary();
phases();
legend();
// Past this many attempts the timeline is drawn on request: the rest of the page first.
if (attempts.length <= 50000) {
  timeline();
} else {
  const b = document.getElementById('timeline-body').appendChild(el('button', null, 'Draw the timeline (' + attempts.length + ' attempts)'));
  b.addEventListener('click', timeline);
}
concurrency();
graph();
failures();
taskTable();
document.body.setAttribute('data-drawn', 'yes');
document.body.setAttribute('data-draw-ms', String(Math.round(performance.now() - started)));
})();
)JS";

}  // namespace mex
