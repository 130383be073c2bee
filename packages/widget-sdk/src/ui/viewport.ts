/**
 * Keeps the full-screen panel (below 480 px) inside the visual viewport. When a phone's on-screen
 * keyboard opens, the layout viewport keeps its height while the visible part shrinks; a panel
 * sized to `100%` would hide its composer behind the keyboard. The visible height and offset go to
 * `--vh` and `--vt` on the host (through the CSSOM), which only the narrow-screen rule reads.
 */
export class Viewport {
  readonly #style: CSSStyleDeclaration;
  #listening = false;

  constructor(style: CSSStyleDeclaration) {
    this.#style = style;
  }

  start(): void {
    const viewport = globalThis.visualViewport;
    if (!viewport || this.#listening) return;
    this.#listening = true;
    viewport.addEventListener('resize', this.#fit);
    viewport.addEventListener('scroll', this.#fit);
    this.#fit();
  }

  stop(): void {
    const viewport = globalThis.visualViewport;
    if (!viewport || !this.#listening) return;
    this.#listening = false;
    viewport.removeEventListener('resize', this.#fit);
    viewport.removeEventListener('scroll', this.#fit);
  }

  readonly #fit = () => {
    const viewport = globalThis.visualViewport;
    if (!viewport) return;
    this.#style.setProperty('--vh', `${viewport.height}px`);
    this.#style.setProperty('--vt', `${viewport.offsetTop}px`);
  };
}
