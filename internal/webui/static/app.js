// The crosswalk explorer: every figure on screen comes from this server's
// REST API. The URL's fragment says what is shown, so every view can be
// linked. An API key, when given, is kept in sessionStorage and sent as a
// bearer token; it never goes into a URL.

const KEY = 'controlmap.key';
const main = document.getElementById('main');
const REL_RANK = { RELATIONSHIP_EQUAL: 5, RELATIONSHIP_SUPERSET_OF: 4, RELATIONSHIP_SUBSET_OF: 3, RELATIONSHIP_INTERSECTS_WITH: 2, RELATIONSHIP_NO_RELATIONSHIP: 1 };
// REL_SYM writes a relationship as set algebra, read source -> target:
// "source SUPERSET_OF target" is source ⊇ target.
const REL_SYM = { RELATIONSHIP_EQUAL: '=', RELATIONSHIP_SUPERSET_OF: '⊇', RELATIONSHIP_SUBSET_OF: '⊆', RELATIONSHIP_INTERSECTS_WITH: '∩', RELATIONSHIP_NO_RELATIONSHIP: '∅' };

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

// scroller puts what may not fit (a table wider than the screen, a long
// list) in a box that scrolls. While it does scroll, the box takes the
// focus, so the keyboard scrolls it too, and is a region named by label.
function scroller(label, content, cls) {
  return h('div', { class: 'scroller ' + cls, dataset: { label } }, content);
}
const wide = (label, table) => scroller(label, table, 'scroll');
function scrollable(box) {
  if (box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1) {
    box.tabIndex = 0;
    box.setAttribute('role', 'region');
    box.setAttribute('aria-label', box.dataset.label);
  } else {
    box.removeAttribute('tabindex');
    box.removeAttribute('role');
    box.removeAttribute('aria-label');
  }
}
// A box scrolls or not as the screen or its table (an opened proof)
// changes size.
const resized = new ResizeObserver((entries) => {
  for (const e of entries) {
    const box = e.target.closest('.scroller');
    if (box) scrollable(box);
  }
});

// drawn marks that the figures of a view are on screen.
let views = 0;
// focusAfter, when set, is the element to give focus back to once a view
// that a control of the page asked for is drawn; otherwise its heading.
let focusAfter = '';
function drawn(view) {
  const back = focusAfter && main.querySelector(focusAfter);
  focusAfter = '';
  main.querySelectorAll('.scroller').forEach(scrollable);
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
  resized.disconnect();
  main.replaceChildren(...nodes);
  main.querySelectorAll('.scroller').forEach((box) => { resized.observe(box); resized.observe(box.firstElementChild); });
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
    wide('Frameworks', h('table', { id: 'frameworks' }, h('thead', {}, h('tr', {}, ['Framework', 'Kind', 'Version', 'Controls', 'Assessable', 'Owner'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, fws.map((f) => h('tr', { dataset: { framework: f.name } },
        h('td', {}, h('a', { href: '#/frameworks/' + enc(id(f.name)) }, f.displayName), h('div', { class: 'muted' }, id(f.name))),
        h('td', {}, word(f.kind, 'FRAMEWORK_KIND_')), h('td', {}, f.version), h('td', {}, f.controlCount || 0), h('td', {}, f.assessableCount || 0),
        h('td', {}, f.owner ? id(f.owner) : 'public')))))));
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
  const item = (c) => h('li', {}, h('a', { href: '#/control/' + enc(fw) + '/' + enc(c.refId) }, c.refId), ' ', c.title,
    c.assessable === false ? h('span', { class: 'muted' }, ' (not assessed)') : '');
  const tree = (parent) => {
    const list = children.get(parent) || [];
    return list.length ? h('ul', { class: 'tree' }, list.map((c) => { const li = item(c); const sub = tree(c.name); if (sub) li.append(sub); return li; })) : null;
  };
  const render = () => {
    const q = search.value.trim();
    if (!q) { out.replaceChildren(tree('') || h('p', {}, 'No controls.')); return; }
    const n = norm(q), words = q.toLowerCase().split(/\s+/);
    const ids = (c) => [c.refId, ...(c.aliases || [])].map(norm);
    // An id that is exactly the one asked for comes first, then the
    // others in document order.
    const exact = (c) => (n && ids(c).includes(n) ? 0 : 1);
    const hits = controls.filter((c) => (n && ids(c).some((a) => a.startsWith(n))) ||
      words.every((w) => String(c.title).toLowerCase().includes(w))).sort((x, y) => exact(x) - exact(y));
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
  // The server names its exports; name is for an answer without one.
  const given = /filename="?([^";]+)"?/.exec(r.headers.get('Content-Disposition') || '');
  save(await r.blob(), given ? given[1] : name);
}
// save hands a file the page made to the browser's downloads.
function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
const exportButton = (label, path, name) => h('button', { type: 'button', onclick: () => download(path, name) }, label);

// provenance says who stated a mapping, how and where: status, method
// and source.
const provenance = (m) => h('div', { class: 'muted prov' }, 'Status ' + word(m.provenance.status, 'MAPPING_STATUS_') + ' · method ' +
  word(m.provenance.method, 'MAPPING_METHOD_') + ' · source: ' + (m.provenance.document || 'n/a') + '; by ' + (m.provenance.author || 'n/a'));

async function proof(fw, ctl, target, f) {
  const q = new URLSearchParams({ target, max_hops: f.hops, include_draft: f.draft });
  const ex = await api('/v1/frameworks/' + enc(fw) + '/controls/' + enc(ctl) + ':explain?' + q);
  const step = async (s) => {
    const m = await mapping(s.mapping);
    return h('li', { dataset: { mapping: s.mapping } }, h('a', { href: '#/mapping/' + enc(id(s.mapping)) }, id(s.mapping)), ': ', id(s.from), ' ', word(s.relationship, 'RELATIONSHIP_'), ' ', id(s.to),
      ' (strength ' + s.strength + ')', h('div', { class: 'muted' }, m.justification), provenance(m));
  };
  // Explain lists every sound path; say which ones the page's filters leave
  // out of the answer above, as Satisfies does.
  const leftOut = (path) => path.leftOut || (path.strength < f.min ? 'strength ' + path.strength + ' is below the minimum ' + f.min : '') ||
    (!f.inferred && path.inferred ? 'inferred paths are off' : '');
  const paths = await Promise.all((ex.paths || []).map(async (path) => h('li', { class: leftOut(path) ? 'left-out' : undefined },
    word(path.relationship, 'RELATIONSHIP_') + ', ' + word(path.satisfaction, 'SATISFACTION_') + ', strength ' + path.strength + (leftOut(path) ? ' — left out: ' + leftOut(path) : ''),
    h('ol', {}, await Promise.all(path.steps.map(step))))));
  const groups = (ex.groups || []).map((m) => h('li', { dataset: { mapping: m.name } }, h('a', { href: '#/mapping/' + enc(id(m.name)) }, id(m.name)), ': ',
    sideText(m.source, m.sources), ' ', word(m.relationship, 'RELATIONSHIP_'), ' ', sideText(m.target, m.targets),
    h('div', { class: 'muted' }, m.justification), provenance(m)));
  return h('div', { class: 'proof' }, h('p', {}, ex.summary), paths.length ? h('ol', { class: 'paths' }, paths) : '', groups.length ? h('p', {}, 'Group mappings:') : '', groups.length ? h('ul', {}, groups) : '');
}

// bounded reads a whole number of the URL: absent, the default; out of
// range, the nearest bound; anything else, the default. What it changed is
// said in notes, so the page says what it shows instead.
function bounded(p, name, lo, hi, dflt, notes) {
  const raw = p.get(name);
  if (raw === null || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n)) {
    notes.push(`${name}=${raw} is not a whole number: ${dflt} is used.`);
    return dflt;
  }
  const v = Math.min(hi, Math.max(lo, n));
  if (v !== n) notes.push(`${name}=${raw} is out of range (${lo} to ${hi}): ${v} is used.`);
  return v;
}

// controlFilters reads the control page's filters from the URL; the API is
// asked, and the form shows, the same values.
function controlFilters(p) {
  const notes = [];
  const f = { hops: bounded(p, 'hops', 1, 5, 3, notes), min: bounded(p, 'min', 0, 10, 0, notes), inferred: p.get('inferred') !== '0', draft: p.get('draft') === '1' };
  return { f, notes };
}
const filterQuery = (f) => new URLSearchParams({ hops: f.hops, min: f.min, inferred: f.inferred ? '1' : '0', draft: f.draft ? '1' : '0' });

async function control(v, fw, ctl) {
  const { f, notes } = controlFilters(params());
  const q = new URLSearchParams({ max_hops: f.hops, min_strength: f.min, include_inferred: f.inferred, include_draft: f.draft });
  const base = '/v1/frameworks/' + enc(fw) + '/controls/' + enc(ctl);
  const [{ control: c }, sat] = await Promise.all([api(base), api(base + ':satisfies?' + q)]);
  const here = '#/control/' + enc(fw) + '/' + enc(ctl);
  const sel = (name, label, options, value) => h('label', {}, label, h('select', { name, onchange: apply },
    options.map((o) => h('option', { value: o, selected: o === value }, o))));
  const box = (name, label, checked) => h('label', {}, label, h('input', { type: 'checkbox', name, checked, onchange: apply }));
  const form = h('form', { class: 'filters', 'aria-label': 'Filters', onsubmit: (e) => e.preventDefault() },
    sel('hops', 'Max hops', [1, 2, 3, 4, 5], f.hops), sel('min', 'Min strength', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], f.min),
    box('inferred', 'Inferred', f.inferred), box('draft', 'Drafts', f.draft));
  function apply(e) {
    focusAfter = '[name="' + e.target.name + '"]';
    location.hash = here + '?' + filterQuery({ hops: form.hops.value, min: form.min.value, inferred: form.inferred.checked, draft: form.draft.checked });
  }
  const sections = (sat.frameworks || []).map((fs) => h('section', {}, h('h2', {}, id(fs.framework)),
    wide('Satisfied in ' + id(fs.framework), h('table', { class: 'satisfies' }, h('thead', {}, h('tr', {}, ['Control', 'Satisfaction', 'Relationship', 'Strength', 'How', 'Proof'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, fs.controls.map((s) => {
        const det = h('details', {}, h('summary', {}, 'Show proof'));
        // A proof is fetched when first opened; one that failed is fetched
        // again the next time it is opened.
        det.addEventListener('toggle', async () => {
          if (!det.open || det.dataset.loaded || det.dataset.loading) return;
          det.dataset.loading = '1';
          delete det.dataset.ready;
          delete det.dataset.failed;
          det.querySelector(':scope > .proof-error')?.remove();
          let shown;
          try {
            shown = await proof(fw, ctl, s.control, f);
            det.dataset.loaded = '1';
          } catch (e) {
            shown = h('p', { class: 'error proof-error', role: 'alert' }, 'The proof could not be fetched: ' + e.message + '. Close it and open it again to retry.');
            det.dataset.failed = '1';
          }
          delete det.dataset.loading;
          det.append(shown);
          det.dataset.ready = '1';
        });
        const how = s.group ? 'member of group ' + id(s.group) : s.inferred ? 'inferred (' + s.path.length + ' steps)' : 'direct';
        const links = (s.path || []).map((m) => h('a', { href: '#/mapping/' + enc(id(m)) }, id(m))).reduce((acc, a) => acc.concat(acc.length ? [' → ', a] : [a]), []);
        return h('tr', { dataset: { control: s.control } }, h('td', {}, h('a', { href: '#/control/' + enc(fwOf(s.control)) + '/' + enc(id(s.control)) }, id(s.control))),
          h('td', {}, satCell(s.satisfaction)), h('td', {}, word(s.relationship, 'RELATIONSHIP_')), h('td', {}, s.strength || 0),
          h('td', {}, h('span', { class: 'how' }, how), ' ', links), h('td', {}, det));
      }))))));
  // The URL says what is shown, not what was asked for.
  if (notes.length && v.live()) history.replaceState(null, '', here + '?' + filterQuery(f));
  v.show(h('h1', {}, c.refId + ' ' + c.title), h('p', { class: 'muted' }, h('a', { href: '#/frameworks/' + enc(fw) }, fw), c.implementationStatus && c.implementationStatus !== 'IMPLEMENTATION_STATUS_UNSPECIFIED' ? ' · ' + word(c.implementationStatus, 'IMPLEMENTATION_STATUS_') : ''),
    c.summary ? h('p', {}, c.summary) : '', h('h2', {}, 'Implementing it satisfies'), form,
    notes.length ? h('p', { class: 'note', id: 'filter-notes' }, notes.join(' ')) : '',
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
  v.show(h('h1', {}, 'Crosswalks'), wide('Crosswalks', h('table', {}, h('thead', {}, h('tr', {}, ['Source', 'Target', 'Mappings'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, list.map((c) => h('tr', {}, h('td', {}, h('a', { href: '#/crosswalk/' + enc(id(c.source)) + '/' + enc(id(c.target)) }, id(c.source))), h('td', {}, id(c.target)), h('td', {}, c.mappingCount || 0)))))));
  v.drawn('crosswalks');
}

async function crosswalk(v, a, b) {
  const p = params();
  const [ca, cb, ms] = await Promise.all([all('/v1/frameworks/' + enc(a) + '/controls', 'controls'), all('/v1/frameworks/' + enc(b) + '/controls', 'controls'),
    all('/v1/crosswalks/' + enc(a) + '/' + enc(b), 'mappings')]);
  const groupOf = new Map([...ca, ...cb].map((c) => [c.name, c.group || c.name]));
  const title = new Map([...ca, ...cb].map((c) => [c.name, c.refId + ' ' + c.title]));
  const rows = ca.filter((c) => !c.parent), cols = cb.filter((c) => !c.parent);
  const here = '#/crosswalk/' + enc(a) + '/' + enc(b);
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
  const sg = p.get('sg'), tg = p.get('tg');
  const go = (n, focus) => { focusAfter = focus; location.hash = here + (String(n) ? '?' + n : ''); };
  // A cell selects its mappings; the selected cell, clicked again, or
  // "All mappings" shows every mapping again.
  const pick = (r, c) => {
    const n = new URLSearchParams(p);
    if (sg === id(r.name) && tg === id(c.name)) { n.delete('sg'); n.delete('tg'); } else { n.set('sg', id(r.name)); n.set('tg', id(c.name)); }
    go(n, '#mappings');
  };
  const everything = () => { const n = new URLSearchParams(p); n.delete('sg'); n.delete('tg'); go(n, '#mappings'); };
  const matrix = h('table', { class: 'matrix' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, a + ' \\ ' + b), cols.map((c) => h('th', { scope: 'col', title: c.title }, c.refId)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row', title: r.title }, r.refId), cols.map((c) => {
      const e = cell.get(r.name + '|' + c.name);
      if (!e) return h('td', { class: 'cell' });
      const w = word(e.best, 'RELATIONSHIP_'), sym = REL_SYM[e.best] || '?';
      const said = e.n + (e.n === 1 ? ' mapping ' : ' mappings ') + r.refId + ' to ' + c.refId + ', strongest ' + w;
      return h('td', { class: 'cell' }, h('button', { type: 'button', class: 'rel-' + w, 'aria-label': said, 'aria-pressed': String(sg === id(r.name) && tg === id(c.name)),
        title: said + ': ' + r.refId + ' ' + sym + ' ' + c.refId, dataset: { sg: id(r.name), tg: id(c.name), rel: w }, onclick: () => pick(r, c) },
      h('span', { class: 'n' }, e.n), ' ', h('span', { class: 'sym' }, sym)));
    })))));
  const rels = Object.keys(REL_RANK);
  // No rel in the URL is every relationship; an empty one is none.
  const on = new Set(p.has('rel') ? p.get('rel').split(',').filter(Boolean) : rels.map((r) => word(r, 'RELATIONSHIP_')));
  const filter = h('fieldset', { class: 'filters' }, h('legend', {}, 'Relationships'), rels.map((r) => {
    const w = word(r, 'RELATIONSHIP_');
    return h('label', {}, REL_SYM[r] + ' ' + w, h('input', { type: 'checkbox', name: 'rel-' + w, checked: on.has(w), onchange: (e) => {
      e.target.checked ? on.add(w) : on.delete(w);
      const n = new URLSearchParams(p); n.set('rel', rels.map((x) => word(x, 'RELATIONSHIP_')).filter((x) => on.has(x)).join(','));
      go(n, '[name="rel-' + w + '"]');
    } }));
  }));
  const shown = ms.filter((m) => on.has(word(m.relationship, 'RELATIONSHIP_')) && (!sg || side(m.source, m.sources).some((c) => id(groupOf.get(c)) === sg)) &&
    (!tg || side(m.target, m.targets).some((c) => id(groupOf.get(c)) === tg)));
  const legend = h('ul', { class: 'legend', 'aria-label': 'Colours and symbols: the strongest relationship of a cell, read source to target' },
    rels.map((r) => h('li', {}, h('span', { class: 'swatch rel-' + word(r, 'RELATIONSHIP_') }, REL_SYM[r]), ' ' + word(r, 'RELATIONSHIP_'))));
  const list = shown.length ? wide('Mappings', h('table', { id: 'mapping-list' }, h('thead', {}, h('tr', {}, ['Source', 'Relationship', 'Target', 'Strength', 'Status', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, shown.map((m) => h('tr', { dataset: { mapping: m.name } }, h('td', {}, m.sources && m.sources.length ? sideText(m.source, m.sources) : title.get(m.source) || id(m.source)),
      h('td', {}, (REL_SYM[m.relationship] || '') + ' ' + word(m.relationship, 'RELATIONSHIP_')),
      h('td', {}, m.targets && m.targets.length ? sideText(m.target, m.targets) : title.get(m.target) || id(m.target)), h('td', {}, m.strength || 0), h('td', {}, word(m.provenance.status, 'MAPPING_STATUS_')),
      h('td', {}, h('a', { href: '#/mapping/' + enc(id(m.name)) }, 'details'))))))) :
    h('p', { id: 'mapping-list' }, on.size ? 'No mappings with these filters.' : 'No relationship is chosen: tick one to list its mappings.');
  v.show(h('h1', {}, 'Crosswalk ' + a + ' → ' + b), h('p', {}, ms.length + ' mappings. Export: ',
    exportButton('OSCAL', '/v1/crosswalks/' + enc(a) + '/' + enc(b) + ':export?format=oscal-mapping', a + '_' + b + '.oscal.json'), ' ',
    exportButton('OLIR CSV', '/v1/crosswalks/' + enc(a) + '/' + enc(b) + ':export?format=olir-csv', a + '_' + b + '.olir.csv')),
  legend, wide('Matrix of ' + a + ' groups by ' + b + ' groups', matrix),
  h('h2', { id: 'mappings', tabindex: '-1' }, sg || tg ? 'Mappings of ' + (sg || 'any group') + ' → ' + (tg || 'any group') : 'Mappings'),
  sg || tg ? h('p', {}, h('button', { type: 'button', id: 'all-mappings', onclick: everything }, 'All mappings')) : '',
  filter, h('p', { class: 'muted' }, shown.length + ' shown'), list);
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
  // A choice of the URL that is not in the list stays chosen, so the form
  // shows what was asked for.
  const choose = (name, label, value, note = '') => h('label', {}, label, h('select', { name },
    fws.some((f) => id(f.name) === value) ? '' : h('option', { value, selected: true }, value + ' (not in the catalog)'),
    fws.map((f) => h('option', { value: id(f.name), selected: id(f.name) === value },
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
  const heat = h('table', { id: 'heatmap' }, h('thead', {}, h('tr', {}, ['Group', 'Controls', 'Full', 'Partial', 'None', 'Shares'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, (r.groups || []).map((g) => row(id(g.group) + ' ' + g.title, g.totals || {})), row('All', r.totals || {})));
  const controls = r.controls || [];
  const byGap = (g) => controls.filter((c) => c.gap === g);
  const list = (label, g) => h('section', {}, h('h2', {}, label + ' (' + byGap(g).length + ')'),
    scroller(label + ' list', h('ol', { id: 'list-' + label }, byGap(g).map((c) => h('li', {}, h('a', { href: '#/control/' + enc(fwOf(c.control) || target) + '/' + enc(id(c.control)) }, id(c.control))))), 'tall'));
  const download = h('button', { type: 'button', id: 'download-csv', onclick: () => {
    const rows = [['control', 'status', 'gap', 'sources']].concat(controls.map((c) => [id(c.control), word(c.status, 'SATISFACTION_'), word(c.gap, 'GAP_CLASS_'),
      [...new Set((c.sources || []).map((s) => id(s.control)))].join(' ')]));
    save(new Blob([csv(rows)], { type: 'text/csv' }), `coverage_${source}_${target}.csv`);
  } }, 'Download CSV');
  v.show(h('h1', {}, 'Coverage of ' + target + ' by ' + source), form, h('p', { class: 'muted' }, counted), wide('Coverage by group', heat), h('p', {}, download), h('div', { class: 'lists' },
    list('Reuse', 'GAP_CLASS_REUSE'), list('Extend', 'GAP_CLASS_EXTEND'), list('New', 'GAP_CLASS_NEW')), h('p', { class: 'muted' }, r.notice));
  v.drawn('coverage');
}

// Routing --------------------------------------------------------------

async function route() {
  if (location.hash && !location.hash.startsWith('#/')) return; // an anchor of the page, not a view
  const mine = ++current;
  // A view drawn after another navigation started is dropped.
  const v = { live: () => mine === current, show: (...nodes) => mine === current && show(...nodes), drawn: (name) => mine === current && drawn(name) };
  try {
    let path;
    try {
      path = location.hash.replace(/^#/, '').split('?')[0].split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      throw new Error('This address is not a valid link: a part of it is not well encoded.');
    }
    switch (path[0]) {
      case undefined: return await frameworks(v);
      case 'frameworks': return path[1] ? await framework(v, path[1]) : await frameworks(v);
      case 'control': return await control(v, path[1], path.slice(2).join('/'));
      case 'mapping': return await mappingView(v, path[1]);
      case 'crosswalks': return await crosswalks(v);
      case 'crosswalk': return await crosswalk(v, path[1], path[2]);
      case 'coverage': return await coverage(v);
      default:
        v.show(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Frameworks')));
        v.drawn('not-found');
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
