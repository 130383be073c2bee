/**
 * The widget's styles, applied as constructable stylesheets adopted by its shadow root. A host page
 * with `style-src <widget origin>` (SPEC §7) blocks `<style>` elements and `style` attributes, but
 * not stylesheets built through the CSSOM; the e2e suite checks Chromium reports no violation.
 *
 * Colours meet WCAG AA (4.5:1) for text: #1f1f1f and #444 on white and on #f1f3f4, #8c1d18 on
 * #fce8e6, white on #b3261e, and the accent text is chosen for the accent (see `theme.ts`).
 * Everything direction-dependent inside the panel uses logical properties, so `dir="rtl"` mirrors
 * it; only the launcher's corner is physical, because a site owner picks it (`data-position`).
 *
 * Theme hooks: `--postern-accent`, `--postern-accent-text`, `--postern-font`, `--postern-radius`,
 * `--postern-z`, set on the host element (`postern-widget`) or inherited from the page.
 */
const CSS = `
:host{all:initial;--a:var(--postern-accent,#0b57d0);--at:var(--postern-accent-text,#fff);--f:var(--postern-font,system-ui,-apple-system,"Segoe UI",Roboto,sans-serif);--z:var(--postern-z,2147483000)}
*{box-sizing:border-box}
[hidden]{display:none!important}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
button,textarea{font:inherit;color:inherit;margin:0}
button{cursor:pointer;min-width:44px;min-height:44px;border:0;border-radius:12px;background:none;display:inline-grid;place-items:center}
:focus-visible{outline:3px solid var(--a);outline-offset:2px}
.head :focus-visible{outline-color:var(--at)}
svg{width:24px;height:24px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}
.launcher{position:fixed;z-index:var(--z);bottom:20px;right:20px;width:56px;height:56px;border-radius:50%;background:var(--a);color:var(--at);box-shadow:0 4px 12px #0004}
.launcher svg{width:28px;height:28px}
.badge{position:absolute;top:-4px;inset-inline-end:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#b3261e;color:#fff;font:700 12px/22px var(--f)}
.panel{position:fixed;z-index:var(--z);bottom:88px;right:20px;width:370px;height:min(600px,calc(100vh - 108px));display:flex;flex-direction:column;background:#fff;color:#1f1f1f;font:15px/1.4 var(--f);text-align:start;border-radius:var(--postern-radius,16px);box-shadow:0 8px 32px #0003;overflow:hidden;animation:in .2s ease-out}
:host([data-position=left]) .launcher,:host([data-position=left]) .panel{right:auto;left:20px}
@keyframes in{from{opacity:0;transform:translateY(12px)}}
.head{display:flex;align-items:center;gap:8px;padding-block:6px;padding-inline:16px 6px;background:var(--a);color:var(--at)}
h2{flex:1;margin:0;font-size:17px}
.status{display:flex;align-items:center;gap:8px;margin:0;padding:6px 16px;min-height:44px;background:#f1f3f4;color:#444;font-size:14px}
.status[data-kind=stopped]{background:#fce8e6;color:#8c1d18}
.status span{flex:1}
.status button{text-decoration:underline;padding:0 8px}
.log{flex:1;overflow-y:auto;margin:0;padding:12px;list-style:none;display:flex;flex-direction:column;gap:8px}
.msg{max-width:85%;padding:8px 12px;border-radius:14px;background:#f1f3f4;align-self:flex-start;white-space:pre-wrap;overflow-wrap:anywhere}
.msg p{margin:0}
.msg[data-sender=visitor]{align-self:flex-end;background:var(--a);color:var(--at)}
.msg[data-sender=system]{align-self:center;background:none;color:#444;font-size:13px;text-align:center}
.msg small{display:block;font-size:12px;font-weight:700}
.typing,.note{margin:0;padding:0 16px 6px;color:#444;font-size:13px}
.handoff{margin:0 12px;border:2px solid var(--a);padding:0 16px}
form{display:flex;gap:8px;align-items:flex-end;padding:12px;border-top:1px solid #ddd}
textarea{flex:1;resize:none;field-sizing:content;min-height:44px;max-height:120px;padding:10px 12px;border:1px solid #767676;border-radius:12px;background:#fff;font-size:16px;line-height:1.4}
textarea::placeholder{color:#666}
.send{background:var(--a);color:var(--at)}
[dir=rtl] .send svg{transform:scaleX(-1)}
@media (max-width:479.98px){:host([data-position]) .panel{inset:0;top:var(--vt,0);width:100%;height:var(--vh,100%);border-radius:0}:host([data-open]) .launcher{display:none}}
@media (prefers-reduced-motion:reduce){*{animation:none!important;transition:none!important}}
`;

export interface Sheets {
  readonly sheets: CSSStyleSheet[];
  /** A `:host` rule for values set at run time (theme, visual viewport) through the CSSOM. */
  readonly host: CSSStyleDeclaration;
}

/** Builds the stylesheets; call in a browser only (never at import, for SSR). */
export function createSheets(): Sheets {
  const base = new CSSStyleSheet();
  base.replaceSync(CSS);
  const runtime = new CSSStyleSheet();
  runtime.replaceSync(':host{}');
  return { sheets: [base, runtime], host: (runtime.cssRules[0] as CSSStyleRule).style };
}
