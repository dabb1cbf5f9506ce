// Imports a `gilscope export --format chrome-json` file into speedscope (the
// npm package's own web build, loaded from node_modules) in headless
// Chromium, the way `speedscope FILE` does it (#localProfilePath pointing at
// a script that calls speedscope.loadFileFromBase64). Checks that speedscope
// recognised the Trace Event Format, made one profile per thread, and that
// the frames it shows (sandwich view) include the given names. Prints one
// JSON line with what it saw.
//
// usage: node check_speedscope.mjs FILE.json [--threads N]
//        [--frames "hold GIL,wait GIL"] [--screenshot OUT.png]
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const file = args.shift();
const opt = {};
for (let i = 0; i < args.length; i += 2) opt[args[i].replace(/^--/, '')] = args[i + 1];
if (!file) {
  console.error('usage: node check_speedscope.mjs FILE [--threads N] [--frames A,B] [--format REGEX]');
  process.exit(2);
}
const index = path.join(here, 'node_modules/speedscope/dist/release/index.html');
if (!fs.existsSync(index)) {
  console.error('speedscope is not installed: run scripts/install-js-deps.sh');
  process.exit(2);
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gilscope-speedscope-'));
const loader = path.join(tmp, 'load.js');
fs.writeFileSync(loader, `speedscope.loadFileFromBase64(${JSON.stringify(path.basename(file))}, ` +
  `${JSON.stringify(fs.readFileSync(file).toString('base64'))})`);

const problems = [];
const logs = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  page.on('console', m => {
    logs.push(m.type() + ': ' + m.text());
    if (m.type() === 'error') problems.push('console error: ' + m.text());
  });
  page.on('pageerror', e => problems.push('page error: ' + e.message));
  page.on('dialog', d => { problems.push('dialog: ' + d.message()); d.dismiss(); });
  await page.goto('file://' + index + '#localProfilePath=' + loader, { waitUntil: 'load', timeout: 120000 });
  // The toolbar title reads "NAME (pid P, tid T) (1/N)" once imported.
  await page.waitForFunction(title => /\(\d+\/\d+\)|tid \d+/.test(document.body.innerText) ||
    document.body.innerText.includes(title), path.basename(file),
    { timeout: 120000 }).catch(() => problems.push('speedscope showed no profile'));
  const text = await page.evaluate(() => document.body.innerText);
  const m = /\((\d+)\/(\d+)\)/.exec(text);
  const seen = {
    format: (logs.find(l => /Importing as/.test(l)) || '').replace(/^log: /, ''),
    profiles: m ? +m[2] : (/tid \d+/.test(text) || text.includes(path.basename(file)) ? 1 : 0),
    title: (text.split('\n').find(l => /tid \d+/.test(l)) || '').trim(),
  };
  const format = new RegExp(opt.format || 'Trace Event', 'i');
  if (!format.test(seen.format))
    problems.push(`speedscope did not import it as ${format}: ` + (seen.format || 'no import log'));
  if (opt.threads !== undefined && seen.profiles !== +opt.threads)
    problems.push(`expected ${opt.threads} thread profiles, speedscope made ${seen.profiles}`);
  if (opt.frames && seen.profiles > 0) {
    // Sandwich view: a table of every frame of the shown profile.
    const frames = new Set();
    await page.getByText('Sandwich', { exact: false }).first().click();
    for (let i = 0; i < Math.max(1, seen.profiles); i++) {
      // Wait for profile i+1's sandwich table (slow under load).
      // (a single profile, e.g. collapsed stacks, has no "(n/N)" title)
      await page.waitForFunction(([n, many]) => (!many || document.body.innerText.includes(`(${n}/`)) &&
        /Symbol Name/i.test(document.body.innerText), [i + 1, !!m], { timeout: 60000 })
        .catch(() => problems.push(`speedscope did not show profile ${i + 1}`));
      (await page.evaluate(() => document.body.innerText)).split('\n')
        .forEach(l => frames.add(l.trim()));
      if (i + 1 < seen.profiles)
        await page.keyboard.press('n'); // next profile
    }
    seen.frames = opt.frames.split(',').filter(f => [...frames].some(l => l.includes(f)));
    for (const f of opt.frames.split(','))
      if (!seen.frames.includes(f)) problems.push(`frame "${f}" not shown by speedscope`);
  }
  if (opt.screenshot) {
    await page.getByText('Time Order', { exact: false }).first().click();
    await page.waitForTimeout(200);
    await page.screenshot({ path: opt.screenshot });
  }
  seen.problems = problems;
  console.log(JSON.stringify(seen));
} finally {
  await browser.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(problems.length ? 1 : 0);
