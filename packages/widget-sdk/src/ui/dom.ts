/**
 * Element construction without string-to-DOM sinks: elements come from `createElement`, text from
 * `append(string)` (a Text node) and attributes from `setAttribute` with names chosen here. Nothing
 * reaches `innerHTML` or the like, so the UI runs under Trusted Types
 * (`require-trusted-types-for 'script'`) and no message text can ever become markup.
 */

type Child = Node | string;

/** An element with attributes and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Readonly<Record<string, string>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

// 24×24 stroked outlines; drawn with currentColor so they follow the theme.
const ICONS = {
  chat: 'M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z',
  close: 'M6 6l12 12M18 6 6 18',
  send: 'M4 12h15m-6-6 6 6-6 6',
} as const;

/** A decorative icon, hidden from assistive technology (its button carries the name). */
export function icon(name: keyof typeof ICONS): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}
