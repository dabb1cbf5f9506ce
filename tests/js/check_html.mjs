// Opens a `gilscope report --html` page in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core) and checks that it rendered:
// no console errors or page errors, no network requests, the timeline canvas
// exists and has one label per thread, the canvas has coloured pixels, and a
// finding link moves the view. Prints one JSON line with what it saw.
//
// usage: node check_html.mjs FILE.html [--rows N] [--screenshot OUT.png]
//        [--width PX] [--height PX] [--finding I] [--zoom-to A,B]
//        [--hover-code hold|wait|any]  (zoom to the longest such span that has
//                           a code location, hover it: the tooltip must
//                           name its "function (file:line)")
import { chromium } from 'playwright-core';
import path from 'node:path';

const args = process.argv.slice(2);
const file = args.shift();
const opt = {};
for (let i = 0; i < args.length; i += 2) opt[args[i].replace(/^--/, '')] = args[i + 1];
if (!file) {
  console.error('usage: node check_html.mjs FILE.html [--rows N] [--screenshot OUT.png]');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const problems = [];
const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({
    viewport: { width: +(opt.width || 1400), height: +(opt.height || 900) },
  });
  page.on('console', m => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  page.on('pageerror', e => problems.push('page error: ' + e.message));
  page.on('request', r => {
    if (!r.url().startsWith('file:') && !r.url().startsWith('data:'))
      problems.push('network request: ' + r.url());
  });
  const t0 = Date.now();
  await page.goto('file://' + path.resolve(file), { waitUntil: 'load', timeout: 120000 });
  await page.waitForFunction(() => document.body.dataset.rendered === '1', null, { timeout: 120000 });
  const wallMs = Date.now() - t0;
  const seen = await page.evaluate(() => {
    const c = document.getElementById('gs-canvas');
    const g = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let coloured = 0;
    for (let i = 0; i < g.length; i += 4) {
      // state colours are saturated; axis and grid lines are grey
      const r = g[i], gg = g[i + 1], b = g[i + 2];
      if (g[i + 3] > 0 && Math.max(r, gg, b) - Math.min(r, gg, b) > 60) coloured++;
    }
    return {
      rows: document.querySelectorAll('#gs-rows .gs-row:not(.counter)').length,
      canvasRows: +c.dataset.rows,
      canvas: [c.width, c.height],
      coloured,
      findings: document.querySelectorAll('a.gs-jump').length,
      summaryRows: document.querySelectorAll('table.summary tbody tr').length,
      hists: document.querySelectorAll('.hist').length,
      loadMs: +document.body.dataset.loadMs,
      decodeMs: +document.body.dataset.decodeMs,
      spansDecoded: window.gilscope.threads.reduce((n, t) => n + t.main.n + t.off.n, 0),
      view: [window.gilscope.view.v0, window.gilscope.view.v1],
      status: document.getElementById('gs-status').textContent,
    };
  });
  seen.wallMs = wallMs;
  if (opt.rows !== undefined && seen.rows !== +opt.rows)
    problems.push(`expected ${opt.rows} thread rows, found ${seen.rows}`);
  if (seen.rows !== seen.canvasRows)
    problems.push(`row labels (${seen.rows}) and canvas rows (${seen.canvasRows}) differ`);
  if (seen.summaryRows !== seen.rows)
    problems.push(`summary table has ${seen.summaryRows} rows for ${seen.rows} threads`);
  if (seen.rows > 0 && seen.coloured < 100)
    problems.push(`timeline canvas is blank (${seen.coloured} coloured pixels)`);
  if (opt['zoom-to']) {
    const [a, b] = opt['zoom-to'].split(',').map(Number);
    seen.zoom = await page.evaluate(([a, b]) => {
      window.gilscope.setView(a, b);
      return window.gilscope.drawNow();
    }, [a, b]);
  }
  if (opt.finding === 'busiest') {
    // The convoy moment with the most handoffs between other threads inside
    // it: the picture of a thread waiting while the others pass the GIL.
    seen.picked = await page.evaluate(() => {
      const g = window.gilscope;
      let index = -1, handoffs = -1;
      g.meta.findings.forEach((f, i) => {
        if (i === 0 || f.kind !== 'convoy') return;
        let n = 0;
        for (let k = 0; k < g.marks.n; k++)
          if (g.marks.kind[k] === 1 && g.marks.ts[k] >= f.t0 && g.marks.ts[k] <= f.t1) n++;
        if (n > handoffs) { handoffs = n; index = i; }
      });
      return { index, handoffs };
    });
    opt.finding = String(Math.max(0, seen.picked.index));
  }
  if (opt.finding !== undefined) {
    const before = seen.view;
    await page.click(`a.gs-jump[data-finding="${opt.finding}"]`);
    const after = await page.evaluate(() => {
      window.gilscope.drawNow();
      return [window.gilscope.view.v0, window.gilscope.view.v1];
    });
    const f = await page.evaluate(i => window.gilscope.meta.findings[i], +opt.finding);
    seen.afterFinding = after;
    // A finding that covers most of the trace legitimately shows it all.
    if (after[0] === before[0] && after[1] === before[1] &&
        (f.t1 - f.t0) * 2 < before[1] - before[0])
      problems.push('clicking the finding link did not move the view');
    if (!(after[0] <= f.t0 && after[1] >= f.t1))
      problems.push(`finding ${opt.finding} [${f.t0}, ${f.t1}] is not inside the view [${after}]`);
  }
  if (opt['hover-code']) {
    const pick = await page.evaluate(want => {
      const g = window.gilscope;
      let best = null;
      g.threads.forEach((t, r) => {
        const l = t.main;
        for (let i = 0; i < l.n; i++) {
          const ok = want === 'hold' ? l.st[i] === 1 : want === 'wait' ? l.st[i] === 2 : l.st[i] === 1 || l.st[i] === 2;
          if (!ok || !l.aux[i] || !g.meta.code[l.aux[i]]) continue;
          const d = l.s1[i] - l.s0[i];
          if (!best || d > best.d) best = { r, d, s0: l.s0[i], s1: l.s1[i], label: g.meta.code[l.aux[i]], state: l.st[i] };
        }
      });
      if (!best) return null;
      g.setView(best.s0, best.s1);
      g.drawNow();
      const c = document.getElementById('gs-canvas').getBoundingClientRect();
      best.x = c.left + c.width / 2;
      best.y = c.top + g.geometry.AXIS_H + best.r * g.geometry.ROW_H + g.geometry.ROW_H / 2;
      return best;
    }, opt['hover-code']);
    if (!pick) {
      problems.push(`no ${opt['hover-code']} span with a code location`);
    } else {
      await page.mouse.move(pick.x, pick.y);
      const tip = await page.evaluate(() => document.getElementById('gs-tip').textContent);
      seen.hover = { label: pick.label, state: pick.state, tip };
      if (!tip.includes(pick.label))
        problems.push(`tooltip "${tip}" does not name "${pick.label}"`);
    }
  }
  if (opt.screenshot) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: opt.screenshot, fullPage: opt.full === '1' });
  }
  seen.problems = problems;
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
}
process.exit(problems.length ? 1 : 0);
