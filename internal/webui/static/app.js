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
const enc = encodeURIComponent;
// side lists the controls of a mapping's side: its group, or its one control.
const side = (one, many) => (many && many.length ? many : [one]);
const sideText = (one, many) => (many && many.length > 1 ? '{' + many.map(id).join(', ') + '}' : id(one));

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
// focusAfter, when set, is the element to give focus back to once a view
// that a control of the page asked for is drawn; otherwise its heading.
let focusAfter = '';
function drawn(view) {
  const back = focusAfter && main.querySelector(focusAfter);
  focusAfter = '';
  (back || main.querySelector('h1'))?.focus();
  performance.mark('controlmap:drawn', { detail: { view, n: ++views } });
  document.body.dataset.drawn = String(views);
  document.body.dataset.view = view;
}

// current numbers navigations: a view still loading when the user has
// gone elsewhere is not shown.
let current = 0;
function show(...nodes) {
  for (const n of nodes) if (n instanceof Element && n.tagName === 'H1') n.tabIndex = -1;
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

async function frameworks(v) {
  const fws = await all('/v1/frameworks', 'frameworks');
  v.show(h('h1', {}, 'Frameworks'),
    h('table', {}, h('thead', {}, h('tr', {}, ['Framework', 'Kind', 'Version', 'Controls', 'Assessable', 'Owner'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, fws.map((f) => h('tr', {},
        h('td', {}, h('a', { href: '#/frameworks/' + id(f.name) }, f.displayName), h('div', { class: 'muted' }, id(f.name))),
        h('td', {}, word(f.kind, 'FRAMEWORK_KIND_')), h('td', {}, f.version), h('td', {}, f.controlCount), h('td', {}, f.assessableCount),
        h('td', {}, f.owner ? id(f.owner) : 'public'))))));
  v.drawn('frameworks');
}

// norm folds the spellings of a control id: case, spaces, dots, dashes.
const norm = (s) => String(s || '').toLowerCase().replace(/[\s._-]+/g, '');

async function framework(v, fw) {
  const [{ framework: f }, controls] = await Promise.all([api('/v1/frameworks/' + enc(fw)), all('/v1/frameworks/' + enc(fw) + '/controls', 'controls')]);
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
    const hits = controls.filter((c) => (n && [c.refId, ...(c.aliases || [])].some((a) => norm(a).startsWith(n))) ||
      words.every((w) => String(c.title).toLowerCase().includes(w)));
    out.replaceChildren(h('p', { role: 'status' }, hits.length + ' matching'), h('ul', { class: 'tree' }, hits.map(item)));
  };
  search.addEventListener('input', render);
  render();
  v.show(h('h1', {}, f.displayName), h('p', { class: 'muted' }, f.description || ''),
    h('p', {}, f.controlCount + ' controls, ' + f.assessableCount + ' assessed. ',
      exportButton('Export as OSCAL', '/v1/frameworks/' + enc(fw) + ':export?format=oscal-catalog', fw + '.oscal.json')),
    h('label', { for: 'search' }, 'Find a control '), search, out);
  v.drawn('framework');
}

// Control: what it satisfies, with proofs ----------------------------

const mappings = new Map(); // cleared when the key changes
async function mapping(name) {
  if (!mappings.has(name)) {
    const p = api('/v1/mappings/' + enc(id(name))).then((d) => d.mapping);
    p.catch(() => mappings.delete(name));
    mappings.set(name, p);
  }
  return mappings.get(name);
}

// download fetches a file of the API with the key and saves it.
async function download(path, name) {
  const headers = {};
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = 'Bearer ' + key;
  const r = await fetch(path, { headers });
  if (!r.ok) { alert('Export failed: ' + ((await r.json().catch(() => ({}))).message || r.status)); return; }
  const a = h('a', { href: URL.createObjectURL(await r.blob()), download: name });
  document.body.append(a); a.click(); a.remove();
}
const exportButton = (label, path, name) => h('button', { type: 'button', onclick: () => download(path, name) }, label);

async function proof(fw, ctl, target, p) {
  const q = new URLSearchParams({ target, max_hops: p.get('hops') || '3', include_draft: p.get('draft') === '1' });
  const ex = await api('/v1/frameworks/' + enc(fw) + '/controls/' + enc(ctl) + ':explain?' + q);
  const step = async (s) => {
    const m = await mapping(s.mapping);
    return h('li', {}, h('a', { href: '#/mapping/' + id(s.mapping) }, id(s.mapping)), ': ', id(s.from), ' ', word(s.relationship, 'RELATIONSHIP_'), ' ', id(s.to),
      ' (strength ' + s.strength + ', ' + word(m.provenance.status, 'MAPPING_STATUS_') + ')',
      h('div', { class: 'muted' }, m.justification), h('div', { class: 'muted' }, 'Source: ' + (m.provenance.document || 'n/a') + '; by ' + m.provenance.author));
  };
  // Explain lists every sound path; say which ones the page's filters leave
  // out of the answer above, as Satisfies does.
  const min = Number(p.get('min') || 0), inferredOff = p.get('inferred') === '0';
  const leftOut = (path) => path.leftOut || (path.strength < min ? 'strength ' + path.strength + ' is below the minimum ' + min : '') ||
    (inferredOff && path.inferred ? 'inferred paths are off' : '');
  const paths = await Promise.all(ex.paths.map(async (path) => h('li', { class: leftOut(path) ? 'left-out' : undefined },
    word(path.relationship, 'RELATIONSHIP_') + ', ' + word(path.satisfaction, 'SATISFACTION_') + ', strength ' + path.strength + (leftOut(path) ? ' — left out: ' + leftOut(path) : ''),
    h('ol', {}, await Promise.all(path.steps.map(step))))));
  const groups = (ex.groups || []).map((m) => h('li', {}, h('a', { href: '#/mapping/' + id(m.name) }, id(m.name)), ': ',
    sideText(m.source, m.sources), ' ', word(m.relationship, 'RELATIONSHIP_'), ' ', sideText(m.target, m.targets),
    ' (' + word(m.provenance.status, 'MAPPING_STATUS_') + ')', h('div', { class: 'muted' }, m.justification),
    h('div', { class: 'muted' }, 'Source: ' + (m.provenance.document || 'n/a') + '; by ' + m.provenance.author)));
  return h('div', {}, h('p', {}, ex.summary), paths.length ? h('ol', {}, paths) : '', groups.length ? h('p', {}, 'Group mappings:') : '', groups.length ? h('ul', {}, groups) : '');
}

async function control(v, fw, ctl) {
  const p = params();
  const q = new URLSearchParams({ max_hops: p.get('hops') || '3', min_strength: p.get('min') || '0',
    include_inferred: p.get('inferred') !== '0', include_draft: p.get('draft') === '1' });
  const base = '/v1/frameworks/' + enc(fw) + '/controls/' + enc(ctl);
  const [{ control: c }, sat] = await Promise.all([api(base), api(base + ':satisfies?' + q)]);
  const sel = (name, label, options, value) => h('label', {}, label, h('select', { name, onchange: apply },
    options.map((o) => h('option', { value: o, selected: String(o) === String(value) }, o))));
  const box = (name, label, checked) => h('label', {}, label, h('input', { type: 'checkbox', name, checked, onchange: apply }));
  const form = h('form', { class: 'filters', 'aria-label': 'Filters', onsubmit: (e) => e.preventDefault() },
    sel('hops', 'Max hops', [1, 2, 3, 4, 5], p.get('hops') || 3), sel('min', 'Min strength', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p.get('min') || 0),
    box('inferred', 'Inferred', p.get('inferred') !== '0'), box('draft', 'Drafts', p.get('draft') === '1'));
  function apply(e) {
    focusAfter = '[name="' + e.target.name + '"]';
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
  v.show(h('h1', {}, c.refId + ' ' + c.title), h('p', { class: 'muted' }, h('a', { href: '#/frameworks/' + fw }, fw), c.implementationStatus && c.implementationStatus !== 'IMPLEMENTATION_STATUS_UNSPECIFIED' ? ' · ' + word(c.implementationStatus, 'IMPLEMENTATION_STATUS_') : ''),
    c.summary ? h('p', {}, c.summary) : '', h('h2', {}, 'Implementing it satisfies'), form,
    ...(sections.length ? sections : [h('p', {}, 'Nothing, with these filters.')]));
  v.drawn('control');
}

async function mappingView(v, mid) {
  const m = await mapping('mappings/' + mid);
  const links = (one, many) => side(one, many).map((n) => h('a', { href: '#/control/' + fwOf(n) + '/' + enc(id(n)) }, fwOf(n) + ' ' + id(n))).reduce((acc, a) => acc.concat(acc.length ? [', ', a] : [a]), []);
  v.show(h('h1', {}, 'Mapping ' + mid), h('table', {}, h('tbody', {},
    [['Source', links(m.source, m.sources)], ['Relationship', word(m.relationship, 'RELATIONSHIP_')], ['Target', links(m.target, m.targets)],
      ['Strength', m.strength + ' (reverse ' + m.reverseStrength + ')'], ['Rationale', word(m.rationale, 'RATIONALE_')], ['Justification', m.justification],
      ['Document', m.provenance.document], ['Method', word(m.provenance.method, 'MAPPING_METHOD_')], ['Status', word(m.provenance.status, 'MAPPING_STATUS_')],
      ['Author', m.provenance.author]].map(([k, v]) => h('tr', {}, h('th', { scope: 'row' }, k), h('td', {}, v))))));
  v.drawn('mapping');
}

// Crosswalks -----------------------------------------------------------

async function crosswalks(v) {
  const { crosswalks: list = [] } = await api('/v1/crosswalks'); // one answer, not paged
  v.show(h('h1', {}, 'Crosswalks'), h('table', {}, h('thead', {}, h('tr', {}, ['Source', 'Target', 'Mappings'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map((c) => h('tr', {}, h('td', {}, h('a', { href: '#/crosswalk/' + id(c.source) + '/' + id(c.target) }, id(c.source))), h('td', {}, id(c.target)), h('td', {}, c.mappingCount))))));
  v.drawn('crosswalks');
}

async function crosswalk(v, a, b) {
  const p = params();
  const [ca, cb, ms] = await Promise.all([all('/v1/frameworks/' + enc(a) + '/controls', 'controls'), all('/v1/frameworks/' + enc(b) + '/controls', 'controls'),
    all('/v1/crosswalks/' + enc(a) + '/' + enc(b), 'mappings')]);
  const groupOf = new Map([...ca, ...cb].map((c) => [c.name, c.group || c.name]));
  const title = new Map([...ca, ...cb].map((c) => [c.name, c.refId + ' ' + c.title]));
  const rows = ca.filter((c) => !c.parent), cols = cb.filter((c) => !c.parent);
  // A mapping counts once in each cell its sides touch: a group mapping
  // may touch several.
  const cellsOf = (m) => {
    const keys = new Set();
    for (const s of side(m.source, m.sources)) for (const t of side(m.target, m.targets)) keys.add(groupOf.get(s) + '|' + groupOf.get(t));
    return keys;
  };
  const cell = new Map();
  for (const m of ms) {
    for (const k of cellsOf(m)) {
      const e = cell.get(k) || { n: 0, best: '' };
      e.n++;
      if ((REL_RANK[m.relationship] || 0) > (REL_RANK[e.best] || 0)) e.best = m.relationship;
      cell.set(k, e);
    }
  }
  const pick = (sg, tg) => { focusAfter = '#mappings'; const n = new URLSearchParams(p); n.set('sg', id(sg)); n.set('tg', id(tg)); location.hash = '#/crosswalk/' + enc(a) + '/' + enc(b) + '?' + n; };
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
    return h('label', {}, w, h('input', { type: 'checkbox', name: 'rel-' + w, checked: on.has(w), onchange: (e) => {
      e.target.checked ? on.add(w) : on.delete(w);
      focusAfter = '[name="rel-' + w + '"]';
      const n = new URLSearchParams(p); n.set('rel', [...on].join(',')); location.hash = '#/crosswalk/' + enc(a) + '/' + enc(b) + '?' + n;
    } }));
  }));
  const sg = p.get('sg'), tg = p.get('tg');
  const shown = ms.filter((m) => on.has(word(m.relationship, 'RELATIONSHIP_')) && (!sg || side(m.source, m.sources).some((c) => id(groupOf.get(c)) === sg)) &&
    (!tg || side(m.target, m.targets).some((c) => id(groupOf.get(c)) === tg)));
  const legend = h('ul', { class: 'legend', 'aria-label': 'Colours: the strongest relationship of a cell' },
    rels.map((r) => h('li', { class: 'rel-' + word(r, 'RELATIONSHIP_') }, word(r, 'RELATIONSHIP_'))));
  v.show(h('h1', {}, 'Crosswalk ' + a + ' → ' + b), h('p', {}, ms.length + ' mappings. Export: ',
    exportButton('OSCAL', '/v1/crosswalks/' + enc(a) + '/' + enc(b) + ':export?format=oscal-mapping', a + '_' + b + '.oscal.json'), ' ',
    exportButton('OLIR CSV', '/v1/crosswalks/' + enc(a) + '/' + enc(b) + ':export?format=olir-csv', a + '_' + b + '.csv')),
  legend, h('div', { class: 'scroll' }, matrix), h('h2', { id: 'mappings', tabindex: '-1' }, sg ? 'Mappings of ' + sg + (tg ? ' → ' + tg : '') : 'Mappings'), filter,
  h('table', {}, h('thead', {}, h('tr', {}, ['Source', 'Relationship', 'Target', 'Strength', 'Status', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, shown.map((m) => h('tr', {}, h('td', {}, m.sources && m.sources.length ? sideText(m.source, m.sources) : title.get(m.source) || id(m.source)),
      h('td', {}, word(m.relationship, 'RELATIONSHIP_')),
      h('td', {}, m.targets && m.targets.length ? sideText(m.target, m.targets) : title.get(m.target) || id(m.target)), h('td', {}, m.strength), h('td', {}, word(m.provenance.status, 'MAPPING_STATUS_')),
      h('td', {}, h('a', { href: '#/mapping/' + id(m.name) }, 'details')))))));
  v.drawn('crosswalk');
}

// Coverage -------------------------------------------------------------

function csv(rows) {
  return rows.map((r) => r.map((v) => '"' + String(v).replaceAll('"', '""') + '"').join(',')).join('\r\n') + '\r\n';
}

async function coverage(v) {
  const p = params();
  const source = p.get('source') || 'iso-27001-2022', target = p.get('target') || 'iso-42001-2023';
  const wanted = p.get('source') && p.get('target');
  // The framework list and the coverage are asked for at once. A coverage
  // the API refuses is shown under the form, so another choice is one
  // click away.
  const [fws, r] = await Promise.all([all('/v1/frameworks', 'frameworks'),
    wanted ? api('/v1/coverage:compute', { method: 'POST', body: { source: { framework: 'frameworks/' + source }, target: 'frameworks/' + target } }).catch((e) => e) : null]);
  // An internal framework as the source counts by its controls' status.
  const choose = (name, label, value, note = '') => h('label', {}, label, h('select', { name }, fws.map((f) => h('option', { value: id(f.name), selected: id(f.name) === value },
    f.displayName + (note && f.kind === 'FRAMEWORK_KIND_INTERNAL' ? note : '')))));
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); location.hash = '#/coverage?' + new URLSearchParams({ source: form.source.value, target: form.target.value }); } },
    choose('source', 'Implemented (source)', source, ' (internal: by implementation status)'), choose('target', 'Covered (target)', target), h('button', { type: 'submit' }, 'Compute'));
  if (!wanted || r instanceof Error) {
    v.show(h('h1', {}, 'Coverage'), form, r instanceof Error ? h('p', { class: 'error', role: 'alert' }, r.message) : h('p', {}, 'Pick what is implemented and what to cover.'));
    v.drawn(r instanceof Error ? 'coverage-error' : 'coverage-form');
    return;
  }
  const src = fws.find((f) => id(f.name) === source);
  const counted = src && src.kind === 'FRAMEWORK_KIND_INTERNAL' ? 'Each control of ' + src.displayName + ' counts as its implementation status says.' :
    'Every control of ' + (src ? src.displayName : source) + ' counts as implemented.';
  const pct = (x) => (100 * (x || 0)).toFixed(0) + '%';
  const bar = (t) => h('div', { class: 'heat', role: 'img', 'aria-label': `FULL ${t.full}, PARTIAL ${t.partial}, NONE ${t.none}` },
    h('span', { class: 'f', style: undefined }), h('span', { class: 'p' }), h('span', { class: 'n' }));
  // The bar's parts take the exact shares, so they always fill it; the
  // figures beside it are rounded.
  const width = (x) => 100 * (x || 0) + '%';
  const sized = (t) => { const b = bar(t); const [f, pa, n] = b.children; f.style.width = width(t.fullShare); pa.style.width = width(t.partialShare); n.style.width = width(t.noneShare); return b; };
  const row = (label, t) => h('tr', {}, h('th', { scope: 'row' }, label), h('td', {}, t.total), h('td', { class: 'sat-FULL' }, t.full + ' (' + pct(t.fullShare) + ')'),
    h('td', { class: 'sat-PARTIAL' }, t.partial + ' (' + pct(t.partialShare) + ')'), h('td', { class: 'sat-NONE' }, t.none + ' (' + pct(t.noneShare) + ')'), h('td', {}, sized(t)));
  const heat = h('table', { id: 'heatmap' }, h('thead', {}, h('tr', {}, ['Group', 'Controls', 'Full', 'Partial', 'None', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, r.groups.map((g) => row(id(g.group) + ' ' + g.title, g.totals)), row('All', r.totals)));
  const byGap = (g) => r.controls.filter((c) => c.gap === g);
  const list = (label, g) => h('section', {}, h('h2', {}, label + ' (' + byGap(g).length + ')'),
    h('ol', {}, byGap(g).map((c) => h('li', {}, h('a', { href: '#/control/' + enc(target) + '/' + enc(id(c.control)) }, id(c.control))))));
  const download = h('button', { type: 'button', onclick: () => {
    const rows = [['control', 'status', 'gap', 'sources']].concat(r.controls.map((c) => [id(c.control), word(c.status, 'SATISFACTION_'), word(c.gap, 'GAP_CLASS_'),
      [...new Set(c.sources.map((s) => id(s.control)))].join(' ')]));
    const a = h('a', { href: URL.createObjectURL(new Blob([csv(rows)], { type: 'text/csv' })), download: `coverage_${source}_${target}.csv` });
    document.body.append(a); a.click(); a.remove();
  } }, 'Download CSV');
  v.show(h('h1', {}, 'Coverage of ' + target + ' by ' + source), form, h('p', { class: 'muted' }, counted), heat, h('p', {}, download), h('div', { class: 'lists' },
    list('Reuse', 'GAP_CLASS_REUSE'), list('Extend', 'GAP_CLASS_EXTEND'), list('New', 'GAP_CLASS_NEW')), h('p', { class: 'muted' }, r.notice));
  v.drawn('coverage');
}

// Routing --------------------------------------------------------------

async function route() {
  if (location.hash && !location.hash.startsWith('#/')) return; // an anchor of the page, not a view
  const path = location.hash.replace(/^#/, '').split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
  const mine = ++current;
  // A view drawn after another navigation started is dropped.
  const v = { show: (...nodes) => mine === current && show(...nodes), drawn: (name) => mine === current && drawn(name) };
  try {
    switch (path[0]) {
      case undefined: return await frameworks(v);
      case 'frameworks': return path[1] ? await framework(v, path[1]) : await frameworks(v);
      case 'control': return await control(v, path[1], path.slice(2).join('/'));
      case 'mapping': return await mappingView(v, path[1]);
      case 'crosswalks': return await crosswalks(v);
      case 'crosswalk': return await crosswalk(v, path[1], path[2]);
      case 'coverage': return await coverage(v);
      default: v.show(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Frameworks')));
    }
  } catch (e) {
    v.show(h('h1', {}, 'Something went wrong'), h('p', { class: 'error', role: 'alert' }, e.message));
    v.drawn('error');
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
  mappings.clear();
  keyState();
  route();
});
document.getElementById('key-clear').addEventListener('click', () => { sessionStorage.removeItem(KEY); mappings.clear(); keyState(); route(); });
// The skip link moves focus to the content; the URL stays the view's.
document.getElementById('skip').addEventListener('click', (e) => { e.preventDefault(); main.focus(); });
window.addEventListener('hashchange', route);
keyState();
route();
