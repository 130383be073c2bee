/**
 * The latency chart, written by hand as SVG: p50 (solid) and p99 (dashed) send → receive
 * latency against offered load, one colour per server, latency on a log scale (an overloaded
 * server's queueing would otherwise flatten every other line).
 */
import { CONTENDERS, LABEL, type PerContender } from '../contenders.js';
import type { ChatResult } from '../scenarios/chat.js';

const WIDTH = 760;
const HEIGHT = 440;
const PAD = { left: 70, right: 170, top: 48, bottom: 56 };
const COLOR: PerContender<string> = { postern: '#0b57d0', ws: '#188038', socketio: '#c5221f' };

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** 1, 2, 5 steps per decade, within [lo, hi]. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let exp = Math.floor(Math.log10(lo)); exp <= Math.ceil(Math.log10(hi)); exp++) {
    for (const m of [1, 2, 5]) {
      const value = m * 10 ** exp;
      if (value >= lo && value <= hi) ticks.push(value);
    }
  }
  return ticks;
}

function niceStep(span: number): number {
  const raw = span / 6;
  const exp = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * exp >= raw) ?? 10) * exp;
}

export function latencyChart(chat: ChatResult, subtitle: string): string {
  const points = chat.steps.flatMap((step) =>
    CONTENDERS.flatMap((name) => [step.runs[name].p50Ms, step.runs[name].p99Ms]),
  );
  const finite = points.filter((v) => Number.isFinite(v) && v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.05, Math.min(...finite, 1))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...finite, 10)));
  const maxLoad = Math.max(...chat.steps.map((step) => step.offered), 1);
  const xStep = niceStep(maxLoad);
  const xMax = Math.ceil(maxLoad / xStep) * xStep;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (load: number) => PAD.left + (load / xMax) * plotW;
  const y = (ms: number) =>
    PAD.top +
    plotH -
    ((Math.log10(ms) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`,
    `<title>Chat latency against offered load: Postern, bare ws, Socket.IO</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${PAD.left}" y="22" font-size="15" font-weight="600">Send → receive latency against offered load</text>`,
    `<text x="${PAD.left}" y="38" fill="#555">${escapeXml(subtitle)}</text>`,
  );
  for (const tick of logTicks(lo, hi)) {
    out.push(
      `<line x1="${PAD.left}" x2="${PAD.left + plotW}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#e3e3e3"/>`,
      `<text x="${PAD.left - 8}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" fill="#444">${tick}</text>`,
    );
  }
  for (let load = 0; load <= xMax; load += xStep) {
    out.push(
      `<line x1="${x(load).toFixed(1)}" x2="${x(load).toFixed(1)}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#f0f0f0"/>`,
      `<text x="${x(load).toFixed(1)}" y="${PAD.top + plotH + 18}" text-anchor="middle" fill="#444">${load}</text>`,
    );
  }
  out.push(
    `<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
    `<text x="${PAD.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle">offered load, messages per second (all dialogs together)</text>`,
    `<text transform="translate(18 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency, ms (log scale)</text>`,
  );
  for (const name of CONTENDERS) {
    for (const [metric, dash] of [
      ['p50Ms', ''],
      ['p99Ms', ' stroke-dasharray="6 4"'],
    ] as const) {
      const coords = chat.steps
        .map((step) => [step.offered, step.runs[name][metric]] as const)
        .filter(([, ms]) => Number.isFinite(ms) && ms > 0)
        .map(([load, ms]) => `${x(load).toFixed(1)},${y(ms).toFixed(1)}`);
      if (coords.length === 0) continue;
      out.push(
        `<polyline points="${coords.join(' ')}" fill="none" stroke="${COLOR[name]}" stroke-width="2"${dash}/>`,
        ...coords.map((c) => {
          const [cx, cy] = c.split(',');
          return metric === 'p50Ms'
            ? `<circle cx="${cx}" cy="${cy}" r="3.5" fill="${COLOR[name]}"/>`
            : `<rect x="${Number(cx) - 3}" y="${Number(cy) - 3}" width="6" height="6" fill="#fff" stroke="${COLOR[name]}" stroke-width="1.5"/>`;
        }),
      );
    }
  }
  const legendX = PAD.left + plotW + 18;
  CONTENDERS.forEach((name, i) => {
    const ly = PAD.top + 14 + i * 22;
    out.push(
      `<line x1="${legendX}" x2="${legendX + 26}" y1="${ly}" y2="${ly}" stroke="${COLOR[name]}" stroke-width="2"/>`,
      `<text x="${legendX + 34}" y="${ly + 4}">${escapeXml(LABEL[name])}</text>`,
    );
  });
  const ky = PAD.top + 14 + CONTENDERS.length * 22 + 12;
  out.push(
    `<line x1="${legendX}" x2="${legendX + 26}" y1="${ky}" y2="${ky}" stroke="#333" stroke-width="2"/>`,
    `<circle cx="${legendX + 13}" cy="${ky}" r="3.5" fill="#333"/>`,
    `<text x="${legendX + 34}" y="${ky + 4}">p50</text>`,
    `<line x1="${legendX}" x2="${legendX + 26}" y1="${ky + 22}" y2="${ky + 22}" stroke="#333" stroke-width="2" stroke-dasharray="6 4"/>`,
    `<rect x="${legendX + 10}" y="${ky + 19}" width="6" height="6" fill="#fff" stroke="#333" stroke-width="1.5"/>`,
    `<text x="${legendX + 34}" y="${ky + 26}">p99</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}
