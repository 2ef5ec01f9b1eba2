// HealthAgent web view: vanilla JS over the JSON API (docs/web-api.md). No build step.
'use strict';

const $ = (id) => document.getElementById(id);
const SEVERITY_ICON = { ok: '✔', info: 'ℹ', warning: '⚠', critical: '✖' };
const SEVERITY_ORDER = { ok: 0, info: 1, warning: 2, critical: 3 };
const COLORS = ['green', 'amber', 'blue', 'white', 'red'];
const DEFAULT_HZ = 1;          // BlinkRate.DefaultHz: a blink rate the table does not give is drawn at 1 Hz
const HOLD_SECONDS = 2;        // how long a held or "then off" ending is shown before the drawing starts again

let me = null;                 // { user, role, privileges, csrfToken }
let stream = null;
const components = new Map();  // id → component JSON
const identifying = new Set();
const identifyErrors = new Map(); // id → the last identify error, shown on its card until the next try

// ---- DOM helpers (text only: nothing from the server becomes markup) --------------------------------------
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
const canMonitor = () => !!me && me.privileges.includes('systemHealthMonitoring');
const canConfigure = () => !!me && me.privileges.includes('configuration');

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (method !== 'GET') { headers['Content-Type'] = 'application/json'; if (me) headers['X-CSRF-Token'] = me.csrfToken; }
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch { /* empty body */ }
  if (res.status === 401 && path !== '/api/login') { signedOut(); }
  return { status: res.status, ok: res.ok, data };
}

function announce(text) { $('live').textContent = text; }

// ---- LED drawing: real timings from the LED JSON (pattern, color, rate.hz, steps with count/seconds, end) -----
const ledSheet = new CSSStyleSheet();
document.adoptedStyleSheets = [...document.adoptedStyleSheets, ledSheet];
const keyframesMade = new Set();

function hzOf(rate) { return rate && rate.hz > 0 ? rate.hz : DEFAULT_HZ; }
function fmt(n) { return Number.isInteger(n) ? String(n) : n.toFixed(3).replace(/0+$/, '').replace(/\.$/, ''); }
function colorVar(c) { return c ? `var(--led-${c})` : 'var(--led-off)'; }

// Turns steps into lit/dark segments [seconds, color|null] for one drawn cycle.
function segmentsOf(led) {
  const steps = led.steps || [{ pattern: led.pattern, color: led.color, rate: led.rate }];
  const segs = [];
  const push = (secs, color) => { if (secs > 0) segs.push([secs, color]); };
  steps.forEach((st, i) => {
    const hz = hzOf(st.rate);
    const last = i === steps.length - 1;
    let dur = st.seconds ?? (st.count != null ? st.count / hz : (last ? HOLD_SECONDS : 1 / hz));
    if (st.pattern === 'blinking') {
      const period = 1 / hz;
      for (let t = 0; t < dur - 1e-9; t += period) {
        push(Math.min(period / 2, dur - t), st.color);
        push(Math.min(period / 2, dur - t - period / 2), null);
      }
    } else push(dur, st.pattern === 'solid' ? st.color : null);
  });
  if (led.end === 'off') push(HOLD_SECONDS, null);
  else if (led.end === 'hold') {
    const st = steps[steps.length - 1];
    if (st.pattern === 'blinking') { const p = 1 / hzOf(st.rate); for (let t = 0; t < HOLD_SECONDS; t += p) { push(p / 2, st.color); push(p / 2, null); } }
    else push(HOLD_SECONDS, st.pattern === 'solid' ? st.color : null);
  }
  return segs;
}

function keyframesFor(name, segs, total) {
  if (keyframesMade.has(name)) return;
  let t = 0;
  const frames = segs.map(([secs, color]) => {
    const pct = (t / total) * 100; t += secs;
    return `${pct.toFixed(4)}% { background-color: ${colorVar(color)}; box-shadow: ${color ? `0 0 12px 2px ${colorVar(color)}` : 'inset 0 -3px 6px rgba(0,0,0,.45)'}; }`;
  });
  const lastColor = segs[segs.length - 1][1];
  frames.push(`100% { background-color: ${colorVar(lastColor)}; }`);
  ledSheet.insertRule(`@keyframes ${name} { ${frames.join(' ')} }`, ledSheet.cssRules.length);
  keyframesMade.add(name);
}

function hash(s) { let h = 5381; for (const ch of s) h = ((h * 33) ^ ch.charCodeAt(0)) >>> 0; return h.toString(36); }

function describe(led) {
  if (!led) return { text: 'unknown', timing: 'the agent cannot tell this LED' };
  if (led.pattern === 'off') return { text: 'off', timing: '' };
  if (led.pattern === 'solid') return { text: `solid ${led.color}`, timing: '' };
  if (led.pattern === 'blinking') {
    const hz = hzOf(led.rate);
    const ms = Math.round(1000 / hz);
    const named = led.rate ? (led.rate.kind === 'hz' ? '' : ` (${led.rate.kind})`) : ' (rate not given; drawn at 1 Hz)';
    return { text: `blinking ${led.color}`, timing: `${fmt(hz)} Hz · ${ms} ms cycle${named}` };
  }
  const total = segmentsOf(led).reduce((a, [s]) => a + s, 0);
  const ending = led.end === 'repeat' ? 'repeats' : led.end === 'off' ? 'then off (drawing repeats)' : 'then holds (drawing repeats)';
  return { text: led.text, timing: `sequence · ${fmt(total)} s drawn · ${ending}` };
}

// One LED: a lamp animated at its real timing, and its words beside it (never colour alone).
function drawLed(led, name) {
  const lamp = el('span', { class: 'led', role: 'img' });
  const d = describe(led);
  if (!led) lamp.classList.add('c-unknown');
  else if (led.pattern === 'off') lamp.classList.add('c-off');
  else if (led.pattern === 'solid') lamp.classList.add(`c-${led.color}`);
  else if (led.pattern === 'blinking') {
    const hz = hzOf(led.rate);
    ensureBlinkKeyframes();
    lamp.classList.add(`c-${led.color}`, 'blinking');
    lamp.style.animationName = 'ha-blink';
    lamp.style.animationDuration = `${1000 / hz}ms`;
    lamp.dataset.periodMs = String(1000 / hz);
  } else {
    const segs = segmentsOf(led);
    const total = segs.reduce((a, [s]) => a + s, 0);
    const kf = `ha-seq-${hash(JSON.stringify(led))}`;
    keyframesFor(kf, segs, total);
    // Without animation (reduced motion, print) the lamp shows the sequence's first step.
    lamp.classList.add(segs[0][1] ? `c-${segs[0][1]}` : 'c-off', 'sequence');
    lamp.style.animationName = kf;
    lamp.style.animationDuration = `${Math.round(total * 1000)}ms`;
    lamp.dataset.periodMs = String(Math.round(total * 1000));
  }
  lamp.setAttribute('aria-label', `${name ? name + ' LED: ' : 'LED: '}${d.text}${d.timing ? ', ' + d.timing : ''}`);
  return el('span', { class: 'led-item' }, lamp,
    el('span', { class: 'led-text' },
      name ? el('span', { class: 'led-name', text: name + ' ' }) : null,
      el('span', { class: 'led-words', text: d.text }),
      d.timing ? el('span', { class: 'led-timing', text: d.timing }) : null));
}

// The blink keyframes toggle between the element's own colour (--on) and dark; made once.
function ensureBlinkKeyframes() {
  if (keyframesMade.has('ha-blink')) return;
  ledSheet.insertRule('@keyframes ha-blink { 0% { background-color: var(--on); } 50% { background-color: var(--led-off); box-shadow: inset 0 -3px 6px rgba(0,0,0,.45); } 100% { background-color: var(--led-off); } }', ledSheet.cssRules.length);
  keyframesMade.add('ha-blink');
}

function drawIndicator(indicator) {
  if (!indicator) return el('span', {}, drawLed(null));
  const names = Object.keys(indicator.leds);
  return el('span', { class: 'indicator', dataset: { text: indicator.text } },
    names.map((n) => drawLed(indicator.leds[n], names.length > 1 ? n : null)));
}

function badge(sev) { return el('span', { class: `badge sev-${sev}` }, el('span', { 'aria-hidden': 'true', text: SEVERITY_ICON[sev] || '?' }), sev); }

function ago(iso) {
  const s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
const timeText = (iso) => new Date(iso).toLocaleString();

// ---- overall status -------------------------------------------------------------------------------------
function renderRollup(r) {
  $('agent-id').textContent = r.agentId ? `· ${r.agentId}` : '';
  const counts = el('div', { class: 'counts', 'aria-label': 'components per severity' },
    ['critical', 'warning', 'info', 'ok'].map((s) => el('span', { class: 'count' }, el('span', { 'aria-hidden': 'true', text: SEVERITY_ICON[s] + ' ' }), `${r.counts[s] ?? 0} ${s}`)));
  const sys = r.systemLed;
  const lamp = sys ? drawLed(sys.leds[Object.keys(sys.leds)[0]]) : drawLed(null);
  $('system').replaceChildren(
    el('div', { class: 'system-led', id: 'system-led' }, lamp),
    el('div', {},
      el('div', { class: 'title' }, 'System health ', badge(r.worst)),
      el('p', { class: 'meaning', id: 'system-meaning', text: r.systemMeaning || (sys ? '' : 'The system health LED state is not known.') }),
      r.systemAction ? el('p', { class: 'muted', text: r.systemAction }) : null),
    counts);
  document.title = `${r.worst === 'ok' ? '✔' : SEVERITY_ICON[r.worst]} ${r.agentId || ''} — System Health Monitoring`;
  $('problems-section').hidden = !Array.isArray(r.problems);
  if (Array.isArray(r.problems)) renderProblems(r.problems);
}

// ---- problems now: one entry per incident (root part, what it means, what to do, what follows from it) ---
function renderProblems(problems) {
  const items = problems.map((p) => {
    const root = p.root;
    const also = p.consequences.map((c) => `${c.part.name} (${c.severity}${c.led ? ', ' + c.led.text : ''})`).join('; ');
    return el('li', { class: `problem sev-${p.severity}`, dataset: { problem: root.part.id, incident: p.id } },
      el('header', {}, badge(p.severity), el('strong', { class: 'part', text: root.part.name }),
        root.led ? el('span', { class: 'muted', text: ` ${root.led.text}` }) : null,
        // held while the other sources report the same fault; its event follows within seconds
        p.state === 'pending' ? el('span', { class: 'muted pending', text: ' · pending (confirming with the other sources)' }) : null),
      el('p', { class: 'meaning', text: root.meaning }),
      el('p', { class: 'action' }, el('strong', { text: 'What to do: ' }), root.action),
      also ? el('p', { class: 'consequences' }, el('strong', { text: 'Also affected: ' }), also) : null,
      root.disagreement ? el('p', { class: 'disagreement', text: `Sources disagree: ${root.disagreement}` }) : null,
      el('p', { class: 'meta', text: `since ${timeText(p.since)} (${ago(p.since)})` }));
  });
  $('problems').replaceChildren(...(items.length ? items : [el('li', { class: 'none', text: 'No problems.' })]));
}

// ---- quantities as people read them ----------------------------------------------------------------------
// Units arrive in UCUM/OpenTelemetry spelling (Cel, By, Mbit/s); the page shows °C, MB, Gbit/s.
const UNIT_TEXT = { Cel: '°C', rpm: 'RPM', h: 'h', min: 'min' };
function scaled(value, steps) {
  // steps: [[factor, unit], …] from the largest; the first whose factor fits, 3 significant digits
  for (const [factor, unit] of steps) {
    if (Math.abs(value) >= factor || factor === steps[steps.length - 1][0]) {
      const v = value / factor;
      return `${Math.abs(v) >= 100 || Number.isInteger(v) ? Math.round(v) : v.toPrecision(3).replace(/\.?0+$/, '')} ${unit}`;
    }
  }
  return String(value);
}
function quantity(value, unit) {
  if (typeof value !== 'number') return `${value}${unit ? ' ' + (UNIT_TEXT[unit] ?? unit) : ''}`;
  switch (unit) {
    case 'By': return scaled(value, [[1e12, 'TB'], [1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB'], [1, 'bytes']]);
    case 'By/s': return scaled(value, [[1e9, 'GB/s'], [1e6, 'MB/s'], [1e3, 'kB/s'], [1, 'B/s']]);
    case 'KiB/s': return scaled(value * 1024, [[1e9, 'GB/s'], [1e6, 'MB/s'], [1e3, 'kB/s'], [1, 'B/s']]);
    case 'Mbit/s': return scaled(value, [[1e6, 'Tbit/s'], [1e3, 'Gbit/s'], [1, 'Mbit/s']]);
    case 'Cel': return `${fmt(Math.round(value * 10) / 10)} °C`;
    case '%': return `${fmt(Math.round(value * 10) / 10)} %`;
    default: return `${fmt(Math.round(value * 100) / 100)}${unit ? ' ' + (UNIT_TEXT[unit] ?? unit) : ''}`;
  }
}
// Reading names without the unit spelled into them: readingCelsius → temperature, maxSpeedMbps → max speed.
const READING_NAMES = { readingCelsius: 'temperature', rxBytes: 'received', txBytes: 'sent', speedMbps: 'speed', maxSpeedMbps: 'max speed', inputVolts: 'input voltage', capacityWatts: 'capacity', syncSpeedKBps: 'rebuild speed', finishMinutes: 'time to finish', powerOnHours: 'powered on' };
function readingName(name) {
  return READING_NAMES[name] ?? name.replace(/(Celsius|Mbps|KBps|Watts|Volts|Percent)$/, '').replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

// ---- components -----------------------------------------------------------------------------------------
const LIMIT_WORDS = /^(max|min|crit|critical|high|low|limit|alarm|upper|lower)|(Max|Min|Crit|Critical|High|Low|Limit|Alarm|Caution|Fatal)$/;
function readingValue(r) {
  if (r.value === null || r.value === undefined) return `unknown${r.reason ? ' — ' + r.reason : ''}`;
  if (typeof r.value === 'boolean') return r.value ? 'yes' : 'no';
  return quantity(r.value, r.unit);
}
// Readings with their limits: "speedMbps 1000 of maxSpeedMbps 10000", temperatures against high/critical limits.
function renderReadings(readings) {
  if (!readings || readings.length === 0) return null;
  const limits = readings.filter((r) => LIMIT_WORDS.test(r.name) && typeof r.value === 'number');
  const dl = el('dl', { class: 'readings' });
  for (const r of readings) {
    if (limits.includes(r)) continue;
    if (LIMIT_WORDS.test(r.name) && (r.value === null || r.value === undefined)) continue; // a limit the hardware does not give
    // unknown: the word, and why in small print below it
    const dd = r.value === null || r.value === undefined
      ? el('dd', {}, 'unknown', r.reason ? el('span', { class: 'why', text: r.reason }) : null)
      : el('dd', {}, readingValue(r));
    if (typeof r.value === 'number') {
      const lim = limits.find((l) => l.unit === r.unit && /max|crit|high|limit/i.test(l.name) && !/^(lower|low|min)/.test(l.name) && l.value > 0);
      if (lim) {
        const pct = Math.min(100, (r.value / lim.value) * 100);
        const isSpeed = /speed|bandwidth|rate/i.test(r.name);
        dd.append(` of ${readingValue(lim)} (${readingName(lim.name)})`,
          el('span', { class: `meter ${!isSpeed && r.value >= lim.value ? 'over' : isSpeed && r.value < lim.value ? 'low' : ''}`, role: 'meter',
            'aria-valuemin': '0', 'aria-valuemax': String(lim.value), 'aria-valuenow': String(r.value), 'aria-label': `${readingName(r.name)} of ${readingName(lim.name)}` },
          el('span', { style: null })));
        dd.lastChild.firstChild.style.width = `${pct}%`;
      }
    }
    dl.append(el('dt', { text: readingName(r.name) }), dd);
  }
  for (const l of limits) if (!dl.textContent.includes(`(${readingName(l.name)})`)) dl.append(el('dt', { text: readingName(l.name) }), el('dd', {}, readingValue(l)));
  return dl;
}

function componentCard(c) {
  // "Identify" only where a source can switch this component's ID LED (c.identify, from the API).
  let tools = null;
  if (canMonitor() && c.identify) {
    const on = identifying.has(c.component.id);
    tools = el('div', { class: 'tools' },
      el('button', { type: 'button', class: 'ghost small', 'aria-pressed': on ? 'true' : 'false', onclick: () => identify(c.component.id, !on) },
        on ? 'Stop identify' : 'Identify'),
      identifyErrors.has(c.component.id) ? el('p', { class: 'error identify-error', role: 'alert', text: identifyErrors.get(c.component.id) }) : null);
  }
  return el('article', { class: `card sev-${c.severity}`, id: `c-${CSS.escape(c.component.id)}`, dataset: { component: c.component.id }, 'aria-label': `${c.component.name}: ${c.severity}` },
    el('header', {}, el('h4', { text: c.component.name }), badge(c.severity)),
    el('div', { class: 'leds' }, c.component.family || c.led ? drawIndicator(c.led) : null),
    el('p', { class: 'meaning', text: c.meaning }),
    el('p', { class: 'action' }, el('strong', { text: 'What to do: ' }), c.action),
    renderReadings(c.readings),
    el('p', { class: 'meta', text: `state ${c.state} · ${c.code} · since ${timeText(c.since)} (${ago(c.since)})${c.ruleId ? ' · rule ' + c.ruleId : ''}` }),
    tools);
}

function renderComponents() {
  const groups = new Map();
  for (const c of components.values()) {
    if (!groups.has(c.group)) groups.set(c.group, { title: c.groupTitle, items: [] });
    groups.get(c.group).items.push(c);
  }
  // Groups with the worst components first (a failed drive is not 1,900 px below a healthy NIC), then by family.
  const worstOf = (g) => Math.max(...groups.get(g).items.map((c) => SEVERITY_ORDER[c.severity]));
  const keys = [...groups.keys()].sort((a, b) => worstOf(b) - worstOf(a) || familyRank(a) - familyRank(b) || a.localeCompare(b));
  $('components').replaceChildren(...keys.map((k) => {
    const g = groups.get(k);
    g.items.sort((a, b) => SEVERITY_ORDER[b.severity] - SEVERITY_ORDER[a.severity] || a.component.name.localeCompare(b.component.name));
    const section = el('section', { class: 'group', 'aria-label': g.title }, el('h3', { text: g.title }), el('div', { class: 'cards' }, g.items.map(componentCard)));
    section.style.setProperty('--n', String(Math.min(g.items.length, 3))); // groups share rows in proportion to their cards
    return section;
  }));
  const sel = $('filter-component');
  const current = sel.value;
  sel.replaceChildren(el('option', { value: '', text: 'all' }),
    ...[...components.values()].sort((a, b) => a.component.name.localeCompare(b.component.name)).map((c) => el('option', { value: c.component.id, text: c.component.name })));
  sel.value = current;
}

async function identify(id, on) {
  const r = await api('POST', `/api/components/${encodeURIComponent(id)}/identify`, { on });
  if (r.ok) { on ? identifying.add(id) : identifying.delete(id); identifyErrors.delete(id); announce(`Identify ${on ? 'on' : 'off'} for ${components.get(id)?.component.name ?? id}`); }
  else identifyErrors.set(id, `Identify failed: ${r.data?.error || `the agent answered ${r.status}`}`); // shown on the card (role=alert)
  const old = document.querySelector(`[data-component="${CSS.escape(id)}"]`);
  if (old && components.has(id)) { const card = componentCard(components.get(id)); old.replaceWith(card); card.querySelector('button')?.focus(); }
}

// ---- events ---------------------------------------------------------------------------------------------
function eventPasses(e) {
  const min = $('filter-severity').value;
  const comp = $('filter-component').value;
  return (!min || SEVERITY_ORDER[e.severity] >= SEVERITY_ORDER[min]) && (!comp || e.component.id === comp);
}

function eventItem(e) {
  const ack = e.acknowledgedBy
    ? el('span', { class: 'ack', text: `acknowledged by ${e.acknowledgedBy}` })
    : (canMonitor() && e.severity !== 'ok' ? el('button', { type: 'button', class: 'ghost small', onclick: () => acknowledge(e) }, 'Acknowledge') : null);
  return el('li', { class: `sev-${e.severity}`, dataset: { event: e.eventId } },
    el('div', { class: 'head' }, badge(e.severity), el('strong', { text: e.component.name }), el('span', { class: 'muted', text: e.kind }),
      el('time', { datetime: e.time, text: `${timeText(e.time)} (${ago(e.time)})` }), ack),
    el('div', { class: 'what' }, e.led ? drawIndicator(e.led) : null, el('span', { text: e.meaning })),
    el('details', {}, el('summary', { text: 'What to do' }), el('p', { text: e.action }),
      el('p', { text: `${e.code}${e.from?.led ? ` · was: ${e.from.led.text}` : ''}${e.from ? ` (${e.from.severity})` : ''}` })));
}

async function loadEvents() {
  const q = new URLSearchParams({ limit: '100' });
  if ($('filter-severity').value) q.set('minSeverity', $('filter-severity').value);
  if ($('filter-component').value) q.set('component', $('filter-component').value);
  const r = await api('GET', `/api/events?${q}`);
  if (!r.ok) return;
  $('events').replaceChildren(...r.data.map(eventItem));
  $('events-empty').hidden = r.data.length > 0;
}

async function acknowledge(e) {
  const r = await api('POST', `/api/events/${encodeURIComponent(e.eventId)}/ack`);
  if (r.ok) { e.acknowledgedBy = r.data.acknowledgedBy; announce('Event acknowledged'); loadEvents(); }
  else announce(r.data?.error || `acknowledge failed (${r.status})`);
}

// ---- what do I see? -------------------------------------------------------------------------------------
const FAMILY_ORDER = ['system', 'psu', 'power', 'drive', 'nic', 'quicksync'];
const familyRank = (f) => FAMILY_ORDER.indexOf(f) + 1 || 99;
let families = [];
// A new family starts afresh: its own LEDs, only the colours its table has for each, no earlier text or answer.
function renderLedPickers() {
  const fam = families.find((f) => f.family === $('lookup-family').value);
  if (!fam) return;
  $('lookup-text').value = '';
  $('lookup-answer').replaceChildren();
  $('lookup-leds').replaceChildren(...fam.leds.map((led) => {
    const id = `pick-${led}`;
    const colors = fam.colors?.[led]?.length ? fam.colors[led] : COLORS;
    return el('fieldset', {}, el('legend', { text: fam.leds.length > 1 ? `${led} LED` : 'The LED' }),
      el('label', { for: `${id}-pattern`, class: 'visually-hidden', text: `${led} pattern` }),
      el('select', { id: `${id}-pattern`, dataset: { led, part: 'pattern' } },
        ['solid', 'blinking', 'blinking slow', 'blinking fast', 'off'].map((p) => el('option', { value: p, text: p }))),
      el('label', { for: `${id}-color`, class: 'visually-hidden', text: `${led} colour` }),
      el('select', { id: `${id}-color`, dataset: { led, part: 'color' } }, colors.map((c) => el('option', { value: c, text: c }))));
  }));
}

function pickedText() {
  const typed = $('lookup-text').value.trim();
  if (typed) return typed;
  const fam = families.find((f) => f.family === $('lookup-family').value);
  return fam.leds.map((led) => {
    const pattern = document.querySelector(`[data-led="${led}"][data-part="pattern"]`).value;
    const color = document.querySelector(`[data-led="${led}"][data-part="color"]`).value;
    const words = pattern === 'off' ? 'off' : pattern.startsWith('blinking ') ? `blinking ${color} ${pattern.slice(9)}` : `${pattern} ${color}`;
    return fam.leds.length > 1 ? `${led} ${words}` : words;
  }).join('; ');
}

async function explain(ev) {
  ev.preventDefault();
  const family = $('lookup-family').value;
  const led = pickedText();
  const r = await api('GET', `/api/explain?${new URLSearchParams({ family, led })}`);
  const out = $('lookup-answer');
  if (!r.ok) { out.replaceChildren(el('p', { class: 'error', text: `${r.data?.error || 'cannot explain that'}${r.data?.examples ? ' — say it like: ' + r.data.examples.join(' | ') : ''}` })); return; }
  const a = r.data;
  if (!a.matched) {
    out.replaceChildren(el('p', { text: `No row of the ${a.title} table matches “${a.seen}”.` }),
      el('p', { class: 'muted', text: `The states it knows: ${a.known.join(' · ')}` }));
    return;
  }
  out.replaceChildren(...[
    a.ambiguous ? el('p', { class: 'note', text: `“${a.seen}” could mean ${a.answers.length} things on the ${a.title}; look closer at the blink rate or sequence.` }) : null,
    ...a.answers.map((x) => el('div', { class: `result sev-${x.severity}` },
      el('div', { class: 'head' }, drawIndicator(x.ledJson), badge(x.severity)),
      el('p', { class: 'meaning' }, el('strong', { text: 'Meaning: ' }), x.meaning),
      el('p', {}, el('strong', { text: 'What to do: ' }), x.action),
      el('p', { class: 'src', text: `${x.source?.table ?? a.title}${x.source?.row ? ', row ' + x.source.row : ''}${x.source?.text ? ' (“' + x.source.text + '”)' : ''} · rule ${x.ruleId}` })))].filter(Boolean));
}

// ---- live updates ---------------------------------------------------------------------------------------
function connectStream() {
  if (stream) stream.close();
  stream = new EventSource('/api/stream');
  stream.addEventListener('rollup', (m) => renderRollup(JSON.parse(m.data)));
  stream.addEventListener('status', (m) => {
    const c = JSON.parse(m.data);
    const before = components.get(c.component.id);
    components.set(c.component.id, c);
    // Replace only this card (keeps keyboard focus elsewhere on the page); a new component redraws its group.
    const old = document.querySelector(`[data-component="${CSS.escape(c.component.id)}"]`);
    if (old && before && before.group === c.group) old.replaceWith(componentCard(c)); else renderComponents();
    const card = document.querySelector(`[data-component="${CSS.escape(c.component.id)}"]`);
    if (card && (!before || before.severity !== c.severity)) { card.classList.add('flash'); announce(`${c.component.name}: ${c.severity}. ${c.meaning}`); }
  });
  stream.addEventListener('event', (m) => {
    const e = JSON.parse(m.data);
    if (!eventPasses(e)) return;
    $('events').prepend(eventItem(e));
    $('events-empty').hidden = true;
  });
  stream.addEventListener('expired', () => { stream.close(); signedOut('Your session expired; sign in again.'); });
  // (Re)load everything once the stream is open, so nothing that changed before it is missed.
  stream.addEventListener('open', async () => { await refresh(); document.body.dataset.live = 'true'; });
  stream.addEventListener('error', () => { document.body.dataset.live = 'false'; });
}

// ---- session --------------------------------------------------------------------------------------------
async function refresh() {
  const h = await api('GET', '/api/health');
  if (h.ok) renderRollup(h.data);
  if (canMonitor()) {
    const c = await api('GET', '/api/components');
    if (c.ok) { components.clear(); for (const x of c.data) components.set(x.component.id, x); renderComponents(); }
    await loadEvents();
  }
}

async function signedIn(session) {
  me = session;
  $('login').hidden = true;
  $('app').hidden = false;
  $('session').hidden = false;
  $('who').textContent = `${me.user} · ${me.role}`;
  document.body.dataset.role = me.role;
  $('components-section').hidden = !canMonitor();
  $('events-section').hidden = !canMonitor();
  $('viewer-note').hidden = canMonitor();
  $('admin-section').hidden = !canConfigure();
  const f = await api('GET', '/api/explain');
  if (f.ok) {
    families = f.data.families.sort((a, b) => familyRank(a.family) - familyRank(b.family));
    $('lookup-family').replaceChildren(...families.map((x) => el('option', { value: x.family, text: x.title })));
    renderLedPickers();
  }
  await refresh();
  connectStream();
}

function signedOut(message) {
  me = null;
  if (stream) { stream.close(); stream = null; }
  $('app').hidden = true;
  $('session').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  delete document.body.dataset.role;
}

async function login(ev) {
  ev.preventDefault();
  const r = await api('POST', '/api/login', { username: $('username').value, password: $('password').value });
  $('password').value = '';
  if (r.ok) { $('login-error').textContent = ''; await signedIn(r.data); }
  else $('login-error').textContent = r.status === 429 ? 'Too many failed sign-ins; wait a few minutes.' : (r.data?.error || 'Sign-in failed.');
}

function setMotion(animate) { document.body.classList.toggle('still', !animate); $('animate').checked = animate; }

document.addEventListener('DOMContentLoaded', async () => {
  ensureBlinkKeyframes();
  // Respect prefers-reduced-motion: LEDs stay still (timings remain in the text and in the computed style); the box turns them on.
  setMotion(!window.matchMedia('(prefers-reduced-motion: reduce)').matches);
  $('animate').addEventListener('change', (e) => setMotion(e.target.checked));
  $('login-form').addEventListener('submit', login);
  $('logout').addEventListener('click', async () => { await api('POST', '/api/logout'); signedOut(); });
  $('lookup-family').addEventListener('change', renderLedPickers);
  $('lookup-form').addEventListener('submit', explain);
  $('filter-severity').addEventListener('change', loadEvents);
  $('filter-component').addEventListener('change', loadEvents);
  $('reload').addEventListener('click', async () => {
    const r = await api('POST', '/api/rules/reload');
    $('reload-result').textContent = r.ok ? `Rules reloaded: version ${r.data.version}, ${r.data.families} families.` : (r.data?.errors ? r.data.errors.join('\n') : r.data?.error || `failed (${r.status})`);
  });
  const r = await api('GET', '/api/me');
  if (r.ok) await signedIn(r.data); else signedOut();
});
