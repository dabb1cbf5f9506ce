/* gilscope HTML report: the zoomable timeline. Embedded by html_report.c;
 * the data is in #gs-meta (JSON) and #gs-bin (base64 of LEB128 varints, the
 * layout is documented in html_report.c). No network, no libraries.
 *
 * Drawing cost follows the pixels, not the trace: a lane is accumulated into
 * per-pixel columns (time per state); when a view holds many more spans
 * than pixels, the columns come from a pre-aggregated pyramid of buckets
 * (built once per lane, on first need) instead of the spans. */
'use strict';
(function () {
  const tLoad0 = performance.now();
  const COLORS = [null, '#2e9d4f', '#e8a33d', '#4a7fd0', '#9a9a9a'];
  const STATE = ['', 'hold GIL', 'wait GIL', 'blocked', 'off CPU'];
  const BLOCK = ['other', 'read', 'write', 'recv', 'send', 'sleep', 'fsync', 'accept'];
  const WHY = ['first acquire', 'after a blocking call', 'after a forced drop', 'after an interval'];
  const MARK = ['', 'handoff', 'failed handoff', 'drop request', 'lost events'];
  const AXIS_H = 22, ROW_H = 28, COUNTER_H = 40, MAX_ARROWS = 600;
  const NSTATE = 5;

  const meta = JSON.parse(document.getElementById('gs-meta').textContent);
  const T = Math.max(1, meta.t_end - meta.t_start);

  /* ---- decoding ---- */
  function bytesOf(s) {
    s = s.trim();
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(s);
    const bin = atob(s), n = bin.length, u = new Uint8Array(n);
    for (let i = 0; i < n; i++) u[i] = bin.charCodeAt(i);
    return u;
  }
  const buf = bytesOf(document.getElementById('gs-bin').textContent);
  let pos = 0;
  function uv() {
    let x = 0, mul = 1, b;
    do {
      b = buf[pos++];
      x += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return x;
  }
  function zz() {
    const v = uv();
    return v % 2 ? -(v + 1) / 2 : v / 2;
  }
  function readLane() {
    const n = uv();
    const s0 = new Float64Array(n), s1 = new Float64Array(n);
    const st = new Uint8Array(n), det = new Uint8Array(n), aux = new Uint32Array(n);
    let t = 0;
    for (let i = 0; i < n; i++) {
      t += zz();
      s0[i] = t;
      t += uv();
      s1[i] = t;
      const code = uv();
      st[i] = code & 7;
      det[i] = code >> 3;
      aux[i] = uv();
    }
    return { n, s0, s1, st, det, aux, pyr: null };
  }
  const threads = meta.threads.map(th => ({ th, main: readLane(), off: readLane() }));
  const marks = (function () {
    const n = uv();
    const ts = new Float64Array(n), ts2 = new Float64Array(n);
    const r1 = new Int32Array(n), r2 = new Int32Array(n), kind = new Uint8Array(n);
    let t = 0;
    for (let i = 0; i < n; i++) {
      t += zz();
      ts[i] = t;
      ts2[i] = t + uv();
      r1[i] = uv() - 1;
      r2[i] = uv() - 1;
      kind[i] = uv();
    }
    return { n, ts, ts2, r1, r2, kind };
  })();
  const waiters = (function () {
    const n = uv();
    const ts = new Float64Array(n), v = new Uint32Array(n);
    let t = 0;
    for (let i = 0; i < n; i++) {
      t += zz();
      ts[i] = t;
      v[i] = uv();
    }
    return { n, ts, v };
  })();
  if (pos !== buf.length) throw new Error('gilscope: data block has ' + (buf.length - pos) + ' stray bytes');
  // Marks by what is drawn: handoff arrows, and per row the crosses (failed
  // handoffs), ticks (drop requests, on the holder's row) and lost events.
  const handoffIdx = [], rowMarks = [];
  for (let r = 0; r < threads.length; r++) rowMarks.push([[], [], [], [], []]);
  for (let k = 0; k < marks.n; k++) {
    const kind = marks.kind[k];
    if (kind === 1) { handoffIdx.push(k); continue; }
    const r = kind === 3 && marks.r2[k] >= 0 ? marks.r2[k] : marks.r1[k];
    if (r >= 0 && kind < 5) rowMarks[r][kind].push(marks.ts[k]);
  }
  const handoffTs = Float64Array.from(handoffIdx, k => marks.ts[k]);
  const rowMarkTs = rowMarks.map(kinds => kinds.map(a => Float64Array.from(a)));
  const tDecoded = performance.now();

  /* ---- helpers ---- */
  // First index whose value is > t (arr sorted ascending).
  function upper(arr, n, t) {
    let lo = 0, hi = n;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (arr[m] <= t) lo = m + 1; else hi = m;
    }
    return lo;
  }
  // First index whose value is >= t.
  function lower(arr, n, t) {
    let lo = 0, hi = n;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (arr[m] < t) lo = m + 1; else hi = m;
    }
    return lo;
  }
  function fmt(ns) {
    const a = Math.abs(ns);
    if (a >= 1e9) return (ns / 1e9).toPrecision(4) + ' s';
    if (a >= 1e6) return (ns / 1e6).toPrecision(4) + ' ms';
    if (a >= 1e3) return (ns / 1e3).toPrecision(4) + ' us';
    return Math.round(ns) + ' ns';
  }
  function niceStep(span, want) {
    const raw = span / want, p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  }

  /* ---- pre-aggregation ---- */
  const PYR_FINEST = 1 << 16;
  // levels[k]: { bw, n, acc: Float32Array(n * NSTATE) } time per state per bucket
  function pyramid(lane) {
    if (lane.pyr) return lane.pyr;
    let n = PYR_FINEST;
    const bw = T / n;
    const acc = new Float32Array(n * NSTATE);
    for (let i = 0; i < lane.n; i++) {
      const a = lane.s0[i], b = lane.s1[i], s = lane.st[i];
      let k = Math.max(0, Math.floor(a / bw));
      const kend = Math.min(n - 1, Math.floor(b / bw));
      for (; k <= kend; k++) {
        const lo = Math.max(a, k * bw), hi = Math.min(b, (k + 1) * bw);
        if (hi > lo) acc[k * NSTATE + s] += hi - lo;
      }
    }
    const levels = [{ bw, n, acc }];
    while (n > 256) {
      const prev = levels[levels.length - 1];
      n >>= 1;
      const a2 = new Float32Array(n * NSTATE);
      for (let k = 0; k < n; k++)
        for (let s = 0; s < NSTATE; s++)
          a2[k * NSTATE + s] = prev.acc[2 * k * NSTATE + s] + prev.acc[(2 * k + 1) * NSTATE + s];
      levels.push({ bw: prev.bw * 2, n, acc: a2 });
    }
    lane.pyr = levels;
    return levels;
  }

  // Waiters: per-bucket maximum, finest level first.
  let waitersPyr = null;
  function waitersPyramid() {
    if (waitersPyr) return waitersPyr;
    let n = PYR_FINEST;
    const bw = T / n, mx = new Float32Array(n);
    for (let i = 0; i < waiters.n; i++) {
      const a = Math.max(0, Math.floor(waiters.ts[i] / bw));
      const end = i + 1 < waiters.n ? waiters.ts[i + 1] : T;
      const b = Math.min(n - 1, Math.max(a, Math.ceil(end / bw) - 1));
      const v = waiters.v[i];
      for (let k = a; k <= b; k++) if (v > mx[k]) mx[k] = v;
    }
    const levels = [{ bw, n, mx }];
    while (n > 256) {
      const prev = levels[levels.length - 1];
      n >>= 1;
      const m2 = new Float32Array(n);
      for (let k = 0; k < n; k++) m2[k] = Math.max(prev.mx[2 * k], prev.mx[2 * k + 1]);
      levels.push({ bw: prev.bw * 2, n, mx: m2 });
    }
    waitersPyr = levels;
    return levels;
  }

  /* ---- view and canvas ---- */
  const canvas = document.getElementById('gs-canvas');
  const ctx = canvas.getContext('2d');
  const tip = document.getElementById('gs-tip');
  const statusEl = document.getElementById('gs-status');
  const rowsEl = document.getElementById('gs-rows');
  const view = { v0: 0, v1: T };
  let selected = -1, W = 0, H = 0, dpr = 1, acc = null, pending = false;
  let lastStats = {};

  rowsEl.innerHTML = '';
  threads.forEach((t, i) => {
    const d = document.createElement('div');
    d.className = 'gs-row';
    d.dataset.tid = t.th.tid;
    d.dataset.index = i;
    d.title = t.th.name + ' (tid ' + t.th.tid + ', ' + t.th.role + ')';
    d.textContent = t.th.name;
    const s = document.createElement('span');
    s.className = 'tid';
    s.textContent = t.th.tid;
    d.appendChild(s);
    rowsEl.appendChild(d);
  });
  const cd = document.createElement('div');
  cd.className = 'gs-row counter';
  cd.textContent = 'GIL waiters';
  rowsEl.appendChild(cd);

  function resize() {
    dpr = window.devicePixelRatio || 1;
    W = Math.max(200, Math.floor(canvas.parentElement.clientWidth - rowsEl.offsetWidth - 2));
    H = AXIS_H + threads.length * ROW_H + COUNTER_H;
    canvas.style.width = W + 'px';
    canvas.style.height = H + 'px';
    canvas.width = Math.round(W * dpr);
    canvas.height = Math.round(H * dpr);
    acc = new Float32Array((W + 1) * NSTATE);
    schedule();
  }
  function X(t) { return (t - view.v0) / (view.v1 - view.v0) * W; }
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  }
  function setView(a, b) {
    const minSpan = 1000;
    let span = Math.min(T, Math.max(minSpan, b - a));
    let c = (a + b) / 2;
    a = c - span / 2;
    b = c + span / 2;
    if (a < 0) { b -= a; a = 0; }
    if (b > T) { a -= b - T; b = T; }
    view.v0 = Math.max(0, a);
    view.v1 = Math.min(T, b);
    schedule();
  }

  // Time per state per pixel column for one lane; returns spans visited.
  function columns(lane) {
    acc.fill(0);
    const v0 = view.v0, v1 = view.v1, nsPx = (v1 - v0) / W;
    const lo = upper(lane.s1, lane.n, v0), hi = lower(lane.s0, lane.n, v1);
    const visible = hi - lo;
    if (visible > 4 * W && lane.n > 4 * PYR_FINEST / 16) {
      const levels = pyramid(lane);
      let L = -1;
      for (let k = levels.length - 1; k >= 0; k--)
        if (levels[k].bw <= nsPx / 2) { L = k; break; }
      if (L >= 0) {
        const lv = levels[L];
        const k0 = Math.max(0, Math.floor(v0 / lv.bw)), k1 = Math.min(lv.n - 1, Math.floor(v1 / lv.bw));
        for (let k = k0; k <= k1; k++) {
          const a = (k * lv.bw - v0) / nsPx, b = ((k + 1) * lv.bw - v0) / nsPx;
          for (let s = 1; s < NSTATE; s++) {
            const share = lv.acc[k * NSTATE + s] / lv.bw;
            if (share > 0) spread(a, b, s, share);
          }
        }
        return { visible, aggregated: 'pyramid level ' + L };
      }
    }
    for (let i = lo; i < hi; i++)
      spread((lane.s0[i] - v0) / nsPx, (lane.s1[i] - v0) / nsPx, lane.st[i], 1);
    return { visible, aggregated: visible > W / 2 ? 'per pixel' : '' };
  }
  function spread(a, b, s, w) {
    if (b <= 0 || a >= W) return;
    if (a < 0) a = 0;
    if (b > W) b = W;
    const c0 = Math.floor(a), c1 = Math.min(W - 1, Math.floor(b));
    if (c0 === c1) { acc[c0 * NSTATE + s] += (b - a) * w; return; }
    acc[c0 * NSTATE + s] += (c0 + 1 - a) * w;
    for (let c = c0 + 1; c < c1; c++) acc[c * NSTATE + s] += w;
    acc[c1 * NSTATE + s] += (b - c1) * w;
  }
  function paintColumns(y, h) {
    let c = 0;
    while (c < W) {
      let pure = -1, sum = 0;
      for (let s = 1; s < NSTATE; s++) {
        const v = acc[c * NSTATE + s];
        sum += v;
        if (v >= 0.98) pure = s;
      }
      if (sum < 0.02) { c++; continue; }
      if (pure > 0) {
        let e = c + 1;
        while (e < W && acc[e * NSTATE + pure] >= 0.98) e++;
        ctx.fillStyle = COLORS[pure];
        ctx.fillRect(c, y, e - c, h);
        c = e;
        continue;
      }
      let yy = y;
      for (let s = 1; s < NSTATE; s++) {
        const v = acc[c * NSTATE + s];
        if (v <= 0) continue;
        ctx.fillStyle = COLORS[s];
        ctx.fillRect(c, yy, 1, h * Math.min(1, v));
        yy += h * Math.min(1, v);
      }
      c++;
    }
  }
  function drawLane(lane, y, h, labels) {
    const nsPx = (view.v1 - view.v0) / W;
    const lo = upper(lane.s1, lane.n, view.v0), hi = lower(lane.s0, lane.n, view.v1);
    if (hi - lo <= W / 2) {
      // Few spans: exact rectangles, labelled when there is room.
      for (let i = lo; i < hi; i++) {
        const a = Math.max(0, X(lane.s0[i])), b = Math.min(W, X(lane.s1[i]));
        ctx.fillStyle = COLORS[lane.st[i]];
        ctx.fillRect(a, y, Math.max(1, b - a), h);
        if (labels && b - a > 70) {
          ctx.fillStyle = '#fff';
          ctx.font = '11px system-ui, sans-serif';
          const txt = STATE[lane.st[i]] + ' ' + fmt(lane.s1[i] - lane.s0[i]);
          ctx.save();
          ctx.beginPath();
          ctx.rect(a, y, b - a, h);
          ctx.clip();
          ctx.fillText(txt, a + 4, y + h / 2 + 4);
          ctx.restore();
        }
      }
      return { visible: hi - lo, aggregated: '' };
    }
    void nsPx;
    const r = columns(lane);
    paintColumns(y, h);
    return r;
  }

  function draw() {
    const t0 = performance.now();
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const v0 = view.v0, v1 = view.v1, rowsTop = AXIS_H, rowsH = threads.length * ROW_H;
    // axis
    const step = niceStep(v1 - v0, Math.max(2, Math.floor(W / 110)));
    ctx.font = '10px system-ui, sans-serif';
    ctx.textAlign = 'center';
    for (let t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
      const x = Math.round(X(t)) + 0.5;
      ctx.strokeStyle = '#e4e4e4';
      ctx.beginPath();
      ctx.moveTo(x, AXIS_H - 4);
      ctx.lineTo(x, H);
      ctx.stroke();
      ctx.fillStyle = '#666';
      if (x > 28 && x < W - 28) ctx.fillText(fmt(t), x, 12);
    }
    ctx.textAlign = 'left';
    // findings behind the rows
    meta.findings.forEach((f, i) => {
      if (f.t1 < v0 || f.t0 > v1) return;
      const a = X(f.t0), b = Math.max(a + 2, X(f.t1));
      ctx.fillStyle = i === selected ? 'rgba(214,39,40,0.22)' : 'rgba(214,39,40,0.09)';
      ctx.fillRect(a, rowsTop, b - a, rowsH);
      if (i === selected) {
        ctx.strokeStyle = '#d62728';
        ctx.lineWidth = 2;
        ctx.strokeRect(a, rowsTop + 1, b - a, rowsH - 2);
        ctx.lineWidth = 1;
      }
    });
    let visible = 0, aggregated = '';
    threads.forEach((t, i) => {
      const y = rowsTop + i * ROW_H;
      const hasOff = t.off.n > 0;
      const mainH = ROW_H - 8 - (hasOff ? 5 : 0);
      const r = drawLane(t.main, y + 3, mainH, true);
      visible += r.visible;
      if (r.aggregated) aggregated = r.aggregated;
      if (hasOff) {
        const r2 = drawLane(t.off, y + 3 + mainH + 1, 4, false);
        visible += r2.visible;
      }
      ctx.fillStyle = '#eee';
      ctx.fillRect(0, y + ROW_H - 1, W, 1);
    });
    // marks: arrows when few; crosses and ticks per pixel when many
    const h0 = lower(handoffTs, handoffTs.length, v0), h1 = upper(handoffTs, handoffTs.length, v1);
    const handoffs = h1 - h0;
    ctx.lineWidth = 1;
    if (handoffs <= MAX_ARROWS) {
      for (let h = h0; h < h1; h++) {
        const k = handoffIdx[h], r1 = marks.r1[k], r2 = marks.r2[k];
        if (r1 < 0 || r2 < 0) continue;
        const y1 = rowsTop + r1 * ROW_H + ROW_H / 2, y2c = rowsTop + r2 * ROW_H + ROW_H / 2;
        arrow(X(marks.ts[k]), y1, X(marks.ts2[k]), y2c + (y2c > y1 ? -9 : 9));
      }
    }
    const nsPx = (v1 - v0) / W;
    for (let r = 0; r < threads.length; r++) {
      for (let kind = 2; kind <= 4; kind++) {
        const arr = rowMarkTs[r][kind];
        if (!arr.length) continue;
        const i0 = lower(arr, arr.length, v0), i1 = upper(arr, arr.length, v1);
        if (i0 >= i1) continue;
        const xs = [];
        if (i1 - i0 <= 2 * W) {
          let last = -10;
          for (let i = i0; i < i1; i++) {
            const x = X(arr[i]);
            if (x - last >= (kind === 2 ? 2 : 1)) { xs.push(x); last = x; }
          }
        } else {
          // one mark per pixel column that has any: binary search per pixel
          let i = i0;
          for (let c = 0; c < W && i < i1; c++) {
            const tEnd = v0 + (c + 1) * nsPx;
            if (arr[i] < tEnd) {
              xs.push(c + 0.5);
              i = lower(arr, i1, tEnd);
            }
          }
        }
        const y = rowsTop + r * ROW_H;
        if (kind === 2) {
          ctx.strokeStyle = '#d62728';
          ctx.lineWidth = 2;
          ctx.beginPath();
          for (const x of xs) {
            const yc = y + ROW_H / 2;
            ctx.moveTo(x - 4, yc - 4); ctx.lineTo(x + 4, yc + 4);
            ctx.moveTo(x + 4, yc - 4); ctx.lineTo(x - 4, yc + 4);
          }
          ctx.stroke();
          ctx.lineWidth = 1;
        } else {
          ctx.fillStyle = kind === 3 ? '#8e44ad' : '#000';
          for (const x of xs) ctx.fillRect(Math.round(x), y + 1, kind === 3 ? 1.5 : 3, 8);
        }
      }
    }
    // waiters: per-pixel maximum as an area
    const cy = rowsTop + rowsH + 4, ch = COUNTER_H - 8;
    ctx.fillStyle = '#f4f4f4';
    ctx.fillRect(0, cy, W, ch);
    if (waiters.n) {
      const col = new Float32Array(W).fill(-1);
      let vmax = 1;
      const i0 = Math.max(0, upper(waiters.ts, waiters.n, v0) - 1);
      const i1 = lower(waiters.ts, waiters.n, v1);
      let lv = null;
      if (i1 - i0 > 4 * W) {
        const levels = waitersPyramid();
        for (let k = levels.length - 1; k >= 0; k--)
          if (levels[k].bw <= nsPx / 2) { lv = levels[k]; break; }
      }
      if (lv) {
        const k0 = Math.max(0, Math.floor(v0 / lv.bw)), k1 = Math.min(lv.n - 1, Math.floor(v1 / lv.bw));
        for (let k = k0; k <= k1; k++) {
          const v = lv.mx[k];
          if (v <= 0) continue;
          const c = Math.min(W - 1, Math.max(0, Math.floor(X((k + 0.5) * lv.bw))));
          if (v > col[c]) col[c] = v;
          if (v > vmax) vmax = v;
        }
      } else {
        for (let i = i0; i < waiters.n && waiters.ts[i] < v1; i++) {
          const a = Math.max(0, Math.floor(X(waiters.ts[i])));
          const bEnd = i + 1 < waiters.n ? X(waiters.ts[i + 1]) : W;
          const b = Math.min(W - 1, Math.max(a, Math.ceil(bEnd) - 1));
          const v = waiters.v[i];
          if (v > vmax) vmax = v;
          for (let c = a; c <= b; c++) if (v > col[c]) col[c] = v;
        }
      }
      ctx.fillStyle = '#a8a8a8';
      for (let c = 0; c < W; c++) {
        if (col[c] <= 0) continue;
        const h = ch * col[c] / vmax;
        ctx.fillRect(c, cy + ch - h, 1, h);
      }
      ctx.fillStyle = '#444';
      ctx.font = '10px system-ui, sans-serif';
      ctx.fillText('max ' + vmax, 3, cy + 10);
    }
    const ms = performance.now() - t0;
    lastStats = { visible, aggregated, handoffs, ms };
    statusEl.textContent = fmt(v0) + ' \u2013 ' + fmt(v1) + ' (' + fmt(v1 - v0) + ')  \u00b7  ' +
      visible.toLocaleString() + ' spans in view' + (aggregated ? ' (aggregated ' + aggregated + ')' : '') +
      (handoffs > MAX_ARROWS ? '  \u00b7  ' + handoffs.toLocaleString() + ' handoffs: zoom in for arrows' : '') +
      '  \u00b7  drawn in ' + ms.toFixed(1) + ' ms';
    if (!document.body.dataset.rendered) {
      document.body.dataset.rendered = '1';
      document.body.dataset.loadMs = (performance.now() - tLoad0).toFixed(1);
      document.body.dataset.decodeMs = (tDecoded - tLoad0).toFixed(1);
    }
    document.body.dataset.draws = String((+document.body.dataset.draws || 0) + 1);
  }
  function arrow(x1, y1, x2, y2) {
    ctx.strokeStyle = '#333';
    ctx.fillStyle = '#333';
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
    ctx.stroke();
    const ang = Math.atan2(y2 - y1, x2 - x1), s = 6;
    ctx.beginPath();
    ctx.moveTo(x2, y2);
    ctx.lineTo(x2 - s * Math.cos(ang - 0.45), y2 - s * Math.sin(ang - 0.45));
    ctx.lineTo(x2 - s * Math.cos(ang + 0.45), y2 - s * Math.sin(ang + 0.45));
    ctx.closePath();
    ctx.fill();
  }

  /* ---- interaction ---- */
  function zoomAt(px, factor) {
    const span = view.v1 - view.v0, c = view.v0 + px / W * span;
    const ns = Math.min(T, Math.max(1000, span * factor));
    setView(c - px / W * ns, c - px / W * ns + ns);
  }
  canvas.addEventListener('wheel', e => {
    e.preventDefault();
    const r = canvas.getBoundingClientRect();
    if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      const d = (e.deltaX || e.deltaY) / W * (view.v1 - view.v0);
      setView(view.v0 + d, view.v1 + d);
    } else {
      zoomAt(e.clientX - r.left, Math.exp(e.deltaY * 0.0015));
    }
  }, { passive: false });
  let drag = null;
  canvas.addEventListener('mousedown', e => {
    drag = { x: e.clientX, v0: view.v0, v1: view.v1 };
    canvas.classList.add('dragging');
  });
  window.addEventListener('mouseup', () => { drag = null; canvas.classList.remove('dragging'); });
  window.addEventListener('mousemove', e => {
    if (drag) {
      const d = (drag.x - e.clientX) / W * (drag.v1 - drag.v0);
      setView(drag.v0 + d, drag.v1 + d);
      tip.style.display = 'none';
      return;
    }
  });
  canvas.addEventListener('dblclick', () => { selected = -1; setView(0, T); });
  canvas.addEventListener('mousemove', e => {
    if (drag) return;
    const r = canvas.getBoundingClientRect();
    const x = e.clientX - r.left, y = e.clientY - r.top;
    const row = Math.floor((y - AXIS_H) / ROW_H);
    const t = view.v0 + x / W * (view.v1 - view.v0);
    let text = '';
    if (row >= 0 && row < threads.length) {
      const th = threads[row];
      text = th.th.name + ' (tid ' + th.th.tid + ')  at ' + fmt(t);
      for (const lane of [th.main, th.off]) {
        const i = upper(lane.s1, lane.n, t);
        if (i < lane.n && lane.s0[i] <= t) {
          const s = lane.st[i];
          let what = STATE[s];
          if (s === 3) what += ': ' + (BLOCK[lane.det[i]] || 'other');
          if (s === 2) what += ' (' + (WHY[lane.det[i]] || '?') + ')';
          if (s === 1 && lane.det[i]) what += ' (ended by a drop request)';
          /* record --stacks / code locations: where it let go, where it asked */
          const code = (s === 1 || s === 2) && lane.aux[i] && meta.code ? meta.code[lane.aux[i]] : null;
          if (code) what += (s === 1 ? ' \u2014 released in ' : ' \u2014 asked in ') + code;
          if (s === 4) what += lane.det[i] ? ' (sleeping)' : ' (preempted)';
          text += '\n' + what + ': ' + fmt(lane.s1[i] - lane.s0[i]) + ' from ' + fmt(lane.s0[i]);
        }
      }
      const nsPx = (view.v1 - view.v0) / W;
      const k0 = lower(marks.ts, marks.n, t - 4 * nsPx), k1 = upper(marks.ts, marks.n, t + 4 * nsPx);
      for (let k = k0; k < k1 && k < k0 + 4; k++) {
        if (marks.r1[k] !== row && marks.r2[k] !== row) continue;
        const other = marks.kind[k] === 3 ? marks.r1[k] : marks.r2[k];
        text += '\n' + MARK[marks.kind[k]] + ' at ' + fmt(marks.ts[k]) +
          (other >= 0 && other !== row ? ' (' + (marks.kind[k] === 3 ? 'from ' : 'to ') + threads[other].th.name + ')' : '');
      }
    }
    if (!text) { tip.style.display = 'none'; return; }
    tip.textContent = text;
    tip.style.display = 'block';
    const host = canvas.parentElement.getBoundingClientRect();
    tip.style.left = (e.clientX - host.left + 14) + 'px';
    tip.style.top = (e.clientY - host.top + 14) + 'px';
  });
  canvas.addEventListener('mouseleave', () => { tip.style.display = 'none'; });
  document.getElementById('gs-zoom-in').addEventListener('click', () => zoomAt(W / 2, 0.5));
  document.getElementById('gs-zoom-out').addEventListener('click', () => zoomAt(W / 2, 2));
  document.getElementById('gs-reset').addEventListener('click', () => { selected = -1; setView(0, T); });
  window.addEventListener('keydown', e => {
    if (e.target && /INPUT|TEXTAREA/.test(e.target.tagName)) return;
    const span = view.v1 - view.v0;
    if (e.key === '+' || e.key === '=') zoomAt(W / 2, 0.5);
    else if (e.key === '-') zoomAt(W / 2, 2);
    else if (e.key === '0') setView(0, T);
    else if (e.key === 'ArrowLeft') setView(view.v0 - span / 5, view.v1 - span / 5);
    else if (e.key === 'ArrowRight') setView(view.v0 + span / 5, view.v1 + span / 5);
  });
  function jump(i) {
    const f = meta.findings[i];
    if (!f) return;
    selected = i;
    const pad = Math.max((f.t1 - f.t0) * 0.25, (meta.interval_ns || 5e6) / 2);
    setView(f.t0 - pad, f.t1 + pad);
    document.getElementById('gs-timeline').scrollIntoView({ block: 'center' });
  }
  document.querySelectorAll('a.gs-jump').forEach(a => a.addEventListener('click', e => {
    e.preventDefault();
    jump(+a.dataset.finding);
    history.replaceState(null, '', '#finding=' + a.dataset.finding);
  }));
  function fromHash() {
    const h = location.hash;
    let m = /^#finding=(\d+)$/.exec(h);
    if (m) { jump(+m[1]); return; }
    m = /^#t=([\d.e+]+),([\d.e+]+)$/.exec(h);
    if (m) setView(+m[1], +m[2]);
  }

  window.gilscope = {
    meta, threads, marks, waiters, view, setView, jump,
    geometry: { AXIS_H, ROW_H },
    stats: () => lastStats,
    drawNow: () => { draw(); return lastStats; },
  };
  window.addEventListener('resize', resize);
  resize();
  fromHash();
})();
