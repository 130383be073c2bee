/**
 * Builds DOM elements from plain values with `createElement`, `textContent` and
 * `setAttribute` only. The console never parses a string as markup (no `innerHTML` or any other
 * string-to-DOM sink), so visitor text can only ever be text; its CSP enforces Trusted Types.
 */

export interface ElementOptions {
  readonly className?: string;
  /** Set as `textContent`. */
  readonly text?: string;
  readonly attrs?: Readonly<Record<string, string>>;
}

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: ElementOptions = {},
  children: readonly Node[] = [],
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.className !== undefined) node.className = options.className;
  if (options.text !== undefined) node.textContent = options.text;
  for (const [name, value] of Object.entries(options.attrs ?? {})) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

/** A `<button type="button">` calling `onClick`. */
export function button(
  text: string,
  onClick: () => void,
  options: ElementOptions = {},
): HTMLButtonElement {
  const node = element('button', { ...options, text, attrs: { type: 'button', ...options.attrs } });
  node.addEventListener('click', onClick);
  return node;
}

/** Shows or hides an element without removing it (keeps focus order and ids stable). */
export function setShown(node: HTMLElement, shown: boolean): void {
  node.hidden = !shown;
}
