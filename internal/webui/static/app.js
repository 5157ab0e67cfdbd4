// The crosswalk explorer: every figure on screen comes from this server's
// REST API. The URL's fragment says what is shown, so every view can be
// linked. An API key, when given, is kept in sessionStorage and sent as a
// bearer token; it never goes into a URL.

const KEY = 'controlmap.key';
const main = document.getElementById('main');
const REL_RANK = { RELATIONSHIP_EQUAL: 5, RELATIONSHIP_SUPERSET_OF: 4, RELATIONSHIP_SUBSET_OF: 3, RELATIONSHIP_INTERSECTS_WITH: 2, RELATIONSHIP_NO_RELATIONSHIP: 1 };

// h builds an element; strings become text, never markup.
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const word = (v, prefix) => String(v || '').replace(prefix, '');
const id = (name) => String(name || '').split('/').pop();
const fwOf = (name) => String(name || '').split('/')[1];

async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = 'Bearer ' + key;
  if (body) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.message || r.status + ' ' + r.statusText);
  return data;
}

// all reads every page of a list.
async function all(path, field) {
  let out = [], token = '';
  do {
    const sep = path.includes('?') ? '&' : '?';
    const d = await api(path + sep + 'page_size=1000' + (token ? '&page_token=' + encodeURIComponent(token) : ''));
    out = out.concat(d[field] || []);
    token = d.nextPageToken;
  } while (token);
  return out;
}

// drawn marks that the figures of a view are on screen.
let views = 0;
function drawn(view) {
  performance.mark('controlmap:drawn', { detail: { view, n: ++views } });
  document.body.dataset.drawn = String(views);
  document.body.dataset.view = view;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function params() {
  const q = location.hash.split('?')[1] || '';
  return new URLSearchParams(q);
}

function satCell(s) {
  const w = word(s, 'SATISFACTION_');
  return h('span', { class: 'sat-' + w }, w);
}

// Frameworks -----------------------------------------------------------

async function frameworks() {
  const fws = await all('/v1/frameworks', 'frameworks');
  show(h('h1', {}, 'Frameworks'),
    h('table', {}, h('thead', {}, h('tr', {}, ['Framework', 'Kind', 'Version', 'Controls', 'Assessable', 'Owner'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, fws.map((f) => h('tr', {},
        h('td', {}, h('a', { href: '#/frameworks/' + id(f.name) }, f.displayName), h('div', { class: 'muted' }, id(f.name))),
        h('td', {}, word(f.kind, 'FRAMEWORK_KIND_')), h('td', {}, f.version), h('td', {}, f.controlCount), h('td', {}, f.assessableCount),
        h('td', {}, f.owner ? id(f.owner) : 'public'))))));
  drawn('frameworks');
}

// norm folds the spellings of a control id: case, spaces, dots, dashes.
const norm = (s) => String(s || '').toLowerCase().replace(/[\s._-]+/g, '');

async function framework(fw) {
  const [{ framework: f }, controls] = await Promise.all([api('/v1/frameworks/' + fw), all('/v1/frameworks/' + fw + '/controls', 'controls')]);
  const search = h('input', { id: 'search', type: 'search', placeholder: 'an id (any spelling) or words of a title' });
  const out = h('div');
  const children = new Map();
  for (const c of controls) {
    const p = c.parent || '';
    if (!children.has(p)) children.set(p, []);
    children.get(p).push(c);
  }
  const item = (c) => h('li', {}, h('a', { href: '#/control/' + fw + '/' + encodeURIComponent(c.refId) }, c.refId), ' ', c.title,
    c.assessable === false ? h('span', { class: 'muted' }, ' (not assessed)') : '');
  const tree = (parent) => {
    const list = children.get(parent) || [];
    return list.length ? h('ul', { class: 'tree' }, list.map((c) => { const li = item(c); const sub = tree(c.name); if (sub) li.append(sub); return li; })) : null;
  };
  const render = () => {
    const q = search.value.trim();
    if (!q) { out.replaceChildren(tree('') || h('p', {}, 'No controls.')); return; }
    const n = norm(q), words = q.toLowerCase().split(/\s+/);
    const hits = controls.filter((c) => [c.refId, ...(c.aliases || [])].some((a) => norm(a) === n || norm(a).startsWith(n)) ||
      words.every((w) => String(c.title).toLowerCase().includes(w)));
    out.replaceChildren(h('p', { role: 'status' }, hits.length + ' matching'), h('ul', { class: 'tree' }, hits.map(item)));
  };
  search.addEventListener('input', render);
  render();
  show(h('h1', {}, f.displayName), h('p', { class: 'muted' }, f.description || ''),
    h('p', {}, f.controlCount + ' controls, ' + f.assessableCount + ' assessed. ',
      h('a', { href: '/v1/frameworks/' + fw + ':export?format=oscal-catalog' }, 'Export as OSCAL')),
    h('label', { for: 'search' }, 'Find a control '), search, out);
  drawn('framework');
}

// Control: what it satisfies, with proofs ----------------------------

const mappings = new Map();
async function mapping(name) {
  if (!mappings.has(name)) mappings.set(name, api('/v1/' + name).then((d) => d.mapping));
  return mappings.get(name);
}

async function proof(fw, ctl, target, p) {
  const q = new URLSearchParams({ target, max_hops: p.get('hops') || '3', include_draft: p.get('draft') === '1' });
  const ex = await api('/v1/frameworks/' + fw + '/controls/' + encodeURIComponent(ctl) + ':explain?' + q);
  const step = async (s) => {
    const m = await mapping(s.mapping);
    return h('li', {}, h('a', { href: '#/mapping/' + id(s.mapping) }, id(s.mapping)), ': ', id(s.from), ' ', word(s.relationship, 'RELATIONSHIP_'), ' ', id(s.to),
      ' (strength ' + s.strength + ', ' + word(m.provenance.status, 'MAPPING_STATUS_') + ')',
      h('div', { class: 'muted' }, m.justification), h('div', { class: 'muted' }, 'Source: ' + (m.provenance.document || 'n/a') + '; by ' + m.provenance.author));
  };
  const paths = await Promise.all(ex.paths.map(async (path) => h('li', {},
    word(path.relationship, 'RELATIONSHIP_') + ', ' + word(path.satisfaction, 'SATISFACTION_') + ', strength ' + path.strength + (path.leftOut ? ' — left out: ' + path.leftOut : ''),
    h('ol', {}, await Promise.all(path.steps.map(step))))));
  const groups = (ex.groups || []).map((m) => h('li', {}, h('a', { href: '#/mapping/' + id(m.name) }, id(m.name)), ': {',
    (m.sources.length ? m.sources : [m.source]).map(id).join(', '), '} ', word(m.relationship, 'RELATIONSHIP_'), ' {',
    (m.targets.length ? m.targets : [m.target]).map(id).join(', '), '}', h('div', { class: 'muted' }, m.justification)));
  return h('div', {}, h('p', {}, ex.summary), paths.length ? h('ol', {}, paths) : '', groups.length ? h('p', {}, 'Group mappings:') : '', groups.length ? h('ul', {}, groups) : '');
}

async function control(fw, ctl) {
  const p = params();
  const q = new URLSearchParams({ max_hops: p.get('hops') || '3', min_strength: p.get('min') || '0',
    include_inferred: p.get('inferred') !== '0', include_draft: p.get('draft') === '1' });
  const base = '/v1/frameworks/' + fw + '/controls/' + encodeURIComponent(ctl);
  const [{ control: c }, sat] = await Promise.all([api(base), api(base + ':satisfies?' + q)]);
  const sel = (name, label, options, value) => h('label', {}, label, h('select', { name, onchange: apply },
    options.map((o) => h('option', { value: o, selected: String(o) === String(value) }, o))));
  const box = (name, label, checked) => h('label', {}, label, h('input', { type: 'checkbox', name, checked, onchange: apply }));
  const form = h('form', { class: 'filters', 'aria-label': 'Filters', onsubmit: (e) => e.preventDefault() },
    sel('hops', 'Max hops', [1, 2, 3, 4, 5], p.get('hops') || 3), sel('min', 'Min strength', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p.get('min') || 0),
    box('inferred', 'Inferred', p.get('inferred') !== '0'), box('draft', 'Drafts', p.get('draft') === '1'));
  function apply() {
    const n = new URLSearchParams({ hops: form.hops.value, min: form.min.value, inferred: form.inferred.checked ? '1' : '0', draft: form.draft.checked ? '1' : '0' });
    location.hash = '#/control/' + fw + '/' + encodeURIComponent(ctl) + '?' + n;
  }
  const sections = (sat.frameworks || []).map((f) => h('section', {}, h('h2', {}, id(f.framework)),
    h('table', { class: 'satisfies' }, h('thead', {}, h('tr', {}, ['Control', 'Satisfaction', 'Relationship', 'Strength', 'How', 'Proof'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, f.controls.map((s) => {
        const det = h('details', {}, h('summary', {}, 'Show proof'));
        det.addEventListener('toggle', async () => {
          if (!det.open || det.dataset.loaded) return;
          det.dataset.loaded = '1';
          try { det.append(await proof(fw, ctl, s.control, p)); } catch (e) { det.append(h('p', { class: 'error' }, e.message)); }
          det.dataset.ready = '1';
        });
        const how = s.group ? 'member of group ' + id(s.group) : s.inferred ? 'inferred (' + s.path.length + ' steps)' : 'direct';
        return h('tr', { dataset: { control: s.control } }, h('td', {}, h('a', { href: '#/control/' + fwOf(s.control) + '/' + encodeURIComponent(id(s.control)) }, id(s.control))),
          h('td', {}, satCell(s.satisfaction)), h('td', {}, word(s.relationship, 'RELATIONSHIP_')), h('td', {}, s.strength), h('td', {}, how,
            ' ', s.path.map((m) => h('a', { href: '#/mapping/' + id(m) }, id(m))).reduce((acc, a) => acc.concat(acc.length ? [' → ', a] : [a]), [])), h('td', {}, det));
      })))));
  show(h('h1', {}, c.refId + ' ' + c.title), h('p', { class: 'muted' }, h('a', { href: '#/frameworks/' + fw }, fw), c.implementationStatus && c.implementationStatus !== 'IMPLEMENTATION_STATUS_UNSPECIFIED' ? ' · ' + word(c.implementationStatus, 'IMPLEMENTATION_STATUS_') : ''),
    c.summary ? h('p', {}, c.summary) : '', h('h2', {}, 'Implementing it satisfies'), form,
    ...(sections.length ? sections : [h('p', {}, 'Nothing, with these filters.')]));
  drawn('control');
}

async function mappingView(mid) {
  const m = await mapping('mappings/' + mid);
  const side = (one, many) => (many && many.length ? many : [one]).map((n) => h('a', { href: '#/control/' + fwOf(n) + '/' + encodeURIComponent(id(n)) }, fwOf(n) + ' ' + id(n))).reduce((acc, a) => acc.concat(acc.length ? [', ', a] : [a]), []);
  show(h('h1', {}, 'Mapping ' + mid), h('table', {}, h('tbody', {},
    [['Source', side(m.source, m.sources)], ['Relationship', word(m.relationship, 'RELATIONSHIP_')], ['Target', side(m.target, m.targets)],
      ['Strength', m.strength + ' (reverse ' + m.reverseStrength + ')'], ['Rationale', word(m.rationale, 'RATIONALE_')], ['Justification', m.justification],
      ['Document', m.provenance.document], ['Method', word(m.provenance.method, 'MAPPING_METHOD_')], ['Status', word(m.provenance.status, 'MAPPING_STATUS_')],
      ['Author', m.provenance.author]].map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))))));
  drawn('mapping');
}

// Crosswalks -----------------------------------------------------------

async function crosswalks() {
  const { crosswalks: list = [] } = await api('/v1/crosswalks'); // one answer, not paged
  show(h('h1', {}, 'Crosswalks'), h('table', {}, h('thead', {}, h('tr', {}, ['Source', 'Target', 'Mappings'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map((c) => h('tr', {}, h('td', {}, h('a', { href: '#/crosswalk/' + id(c.source) + '/' + id(c.target) }, id(c.source))), h('td', {}, id(c.target)), h('td', {}, c.mappingCount))))));
  drawn('crosswalks');
}

async function crosswalk(a, b) {
  const p = params();
  const [ca, cb, ms] = await Promise.all([all('/v1/frameworks/' + a + '/controls', 'controls'), all('/v1/frameworks/' + b + '/controls', 'controls'),
    all('/v1/crosswalks/' + a + '/' + b, 'mappings')]);
  const groupOf = new Map([...ca, ...cb].map((c) => [c.name, c.group || c.name]));
  const title = new Map([...ca, ...cb].map((c) => [c.name, c.refId + ' ' + c.title]));
  const rows = ca.filter((c) => !c.parent), cols = cb.filter((c) => !c.parent);
  const cell = new Map();
  for (const m of ms) {
    const k = groupOf.get(m.source) + '|' + groupOf.get(m.target);
    const e = cell.get(k) || { n: 0, best: '' };
    e.n++;
    if ((REL_RANK[m.relationship] || 0) > (REL_RANK[e.best] || 0)) e.best = m.relationship;
    cell.set(k, e);
  }
  const pick = (sg, tg) => { const n = new URLSearchParams(p); n.set('sg', id(sg)); n.set('tg', id(tg)); location.hash = '#/crosswalk/' + a + '/' + b + '?' + n; };
  const matrix = h('table', { class: 'matrix' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, a + ' \\ ' + b), cols.map((c) => h('th', { scope: 'col', title: c.title }, c.refId)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row', title: r.title }, r.refId), cols.map((c) => {
      const e = cell.get(r.name + '|' + c.name);
      return h('td', { class: 'cell' }, e ? h('button', { class: 'rel-' + word(e.best, 'RELATIONSHIP_'), 'aria-label': e.n + ' mappings ' + r.refId + ' to ' + c.refId + ', strongest ' + word(e.best, 'RELATIONSHIP_'),
        onclick: () => pick(r.name, c.name) }, e.n) : '');
    })))));
  const rels = Object.keys(REL_RANK);
  const on = new Set((p.get('rel') || rels.map((r) => word(r, 'RELATIONSHIP_')).join(',')).split(','));
  const filter = h('fieldset', { class: 'filters' }, h('legend', {}, 'Relationships'), rels.map((r) => {
    const w = word(r, 'RELATIONSHIP_');
    return h('label', {}, w, h('input', { type: 'checkbox', checked: on.has(w), onchange: (e) => {
      e.target.checked ? on.add(w) : on.delete(w);
      const n = new URLSearchParams(p); n.set('rel', [...on].join(',')); location.hash = '#/crosswalk/' + a + '/' + b + '?' + n;
    } }));
  }));
  const sg = p.get('sg'), tg = p.get('tg');
  const shown = ms.filter((m) => on.has(word(m.relationship, 'RELATIONSHIP_')) && (!sg || id(groupOf.get(m.source)) === sg) && (!tg || id(groupOf.get(m.target)) === tg));
  show(h('h1', {}, 'Crosswalk ' + a + ' → ' + b), h('p', {}, ms.length + ' mappings. ',
    h('a', { href: '/v1/crosswalks/' + a + '/' + b + ':export?format=oscal-mapping' }, 'OSCAL'), ' · ',
    h('a', { href: '/v1/crosswalks/' + a + '/' + b + ':export?format=olir-csv' }, 'OLIR CSV')),
  h('div', { class: 'scroll' }, matrix), h('h2', {}, sg ? 'Mappings of ' + sg + (tg ? ' → ' + tg : '') : 'Mappings'), filter,
  h('table', {}, h('thead', {}, h('tr', {}, ['Source', 'Relationship', 'Target', 'Strength', 'Status', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, shown.map((m) => h('tr', {}, h('td', {}, title.get(m.source) || id(m.source)), h('td', {}, word(m.relationship, 'RELATIONSHIP_')),
      h('td', {}, title.get(m.target) || id(m.target)), h('td', {}, m.strength), h('td', {}, word(m.provenance.status, 'MAPPING_STATUS_')),
      h('td', {}, h('a', { href: '#/mapping/' + id(m.name) }, 'details')))))));
  drawn('crosswalk');
}

// Coverage -------------------------------------------------------------

function csv(rows) {
  return rows.map((r) => r.map((v) => '"' + String(v).replaceAll('"', '""') + '"').join(',')).join('\r\n') + '\r\n';
}

async function coverage() {
  const p = params();
  const source = p.get('source') || 'iso-27001-2022', target = p.get('target') || 'iso-42001-2023';
  const wanted = p.get('source') && p.get('target');
  // The framework list and the coverage are asked for at once.
  const [fws, r] = await Promise.all([all('/v1/frameworks', 'frameworks'),
    wanted ? api('/v1/coverage:compute', { method: 'POST', body: { source: { framework: 'frameworks/' + source }, target: 'frameworks/' + target } }) : null]);
  const choose = (name, label, value) => h('label', {}, label, h('select', { name }, fws.map((f) => h('option', { value: id(f.name), selected: id(f.name) === value }, f.displayName))));
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); location.hash = '#/coverage?' + new URLSearchParams({ source: form.source.value, target: form.target.value }); } },
    choose('source', 'Implemented (source)', source), choose('target', 'Covered (target)', target), h('button', { type: 'submit' }, 'Compute'));
  if (!wanted) {
    show(h('h1', {}, 'Coverage'), form, h('p', {}, 'Pick what is implemented and what to cover.'));
    drawn('coverage-form');
    return;
  }
  const pct = (x) => (100 * (x || 0)).toFixed(0) + '%';
  const bar = (t) => h('div', { class: 'heat', role: 'img', 'aria-label': `FULL ${t.full}, PARTIAL ${t.partial}, NONE ${t.none}` },
    h('span', { class: 'f', style: undefined }), h('span', { class: 'p' }), h('span', { class: 'n' }));
  const sized = (t) => { const b = bar(t); const [f, pa, n] = b.children; f.style.width = pct(t.fullShare); pa.style.width = pct(t.partialShare); n.style.width = pct(t.noneShare); return b; };
  const row = (label, t) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, t.total), h('td', { class: 'sat-FULL' }, t.full + ' (' + pct(t.fullShare) + ')'),
    h('td', { class: 'sat-PARTIAL' }, t.partial + ' (' + pct(t.partialShare) + ')'), h('td', { class: 'sat-NONE' }, t.none + ' (' + pct(t.noneShare) + ')'), h('td', {}, sized(t)));
  const heat = h('table', { id: 'heatmap' }, h('thead', {}, h('tr', {}, ['Group', 'Controls', 'Full', 'Partial', 'None', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, r.groups.map((g) => row(id(g.group) + ' ' + g.title, g.totals)), row('All', r.totals)));
  const byGap = (g) => r.controls.filter((c) => c.gap === g);
  const list = (label, g) => h('section', {}, h('h2', {}, label + ' (' + byGap(g).length + ')'),
    h('ol', {}, byGap(g).map((c) => h('li', {}, h('a', { href: '#/control/' + target + '/' + encodeURIComponent(id(c.control)) }, id(c.control))))));
  const download = h('button', { type: 'button', onclick: () => {
    const rows = [['control', 'status', 'gap', 'sources']].concat(r.controls.map((c) => [id(c.control), word(c.status, 'SATISFACTION_'), word(c.gap, 'GAP_CLASS_'),
      [...new Set(c.sources.map((s) => id(s.control)))].join(' ')]));
    const a = h('a', { href: URL.createObjectURL(new Blob([csv(rows)], { type: 'text/csv' })), download: `coverage_${source}_${target}.csv` });
    document.body.append(a); a.click(); a.remove();
  } }, 'Download CSV');
  show(h('h1', {}, 'Coverage of ' + target + ' by ' + source), form, heat, h('p', {}, download), h('div', { class: 'lists' },
    list('Reuse', 'GAP_CLASS_REUSE'), list('Extend', 'GAP_CLASS_EXTEND'), list('New', 'GAP_CLASS_NEW')), h('p', { class: 'muted' }, r.notice));
  drawn('coverage');
}

// Routing --------------------------------------------------------------

async function route() {
  const path = location.hash.replace(/^#/, '').split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
  try {
    switch (path[0]) {
      case undefined: return await frameworks();
      case 'frameworks': return path[1] ? await framework(path[1]) : await frameworks();
      case 'control': return await control(path[1], path.slice(2).join('/'));
      case 'mapping': return await mappingView(path[1]);
      case 'crosswalks': return await crosswalks();
      case 'crosswalk': return await crosswalk(path[1], path[2]);
      case 'coverage': return await coverage();
      default: show(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Frameworks')));
    }
  } catch (e) {
    show(h('h1', {}, 'Something went wrong'), h('p', { class: 'error', role: 'alert' }, e.message));
    drawn('error');
  }
}

function keyState() {
  document.getElementById('key-state').textContent = sessionStorage.getItem(KEY) ? 'Using your key' : 'Public catalog';
}

document.getElementById('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('api-key');
  if (input.value.trim()) sessionStorage.setItem(KEY, input.value.trim());
  input.value = '';
  keyState();
  route();
});
document.getElementById('key-clear').addEventListener('click', () => { sessionStorage.removeItem(KEY); keyState(); route(); });
window.addEventListener('hashchange', route);
keyState();
route();
