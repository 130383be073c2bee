/**
 * The two host pages: the shop (an allowed origin) and the same page on a non-allowed origin.
 * Both embed the widget with the plain SPEC §7 script tag and the word-for-word queue stub. They
 * are rendered on the server, so every interpolated value is escaped for its HTML context.
 */

/** The queue stub of SPEC §7, word for word. */
export const QUEUE_STUB =
  'window.Postern=window.Postern||function(){(window.Postern.q=window.Postern.q||[]).push(arguments)}';

// Queues `open` through the stub, so it works before widget.js has loaded.
const OPEN_BUTTON_SCRIPT =
  "document.getElementById('open-chat').addEventListener('click',function(){Postern('open')});";

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character] ?? character);
}

export interface HostPageInput {
  /** `shop`: on the site's allowed domain; `other`: the same tag where it is not allowed. */
  readonly kind: 'shop' | 'other';
  readonly nonce: string;
  readonly siteToken: string;
  /** Postern server origin as the browser reaches it. */
  readonly serverOrigin: string;
  /** Origins of the three demo pages, for the links between them. */
  readonly links: { readonly shop: string; readonly other: string; readonly app: string };
}

const PRODUCTS = [
  ['Lantern', 'A brass lantern for long evenings.', '€24'],
  ['Postcard set', 'Twelve cards of harbour towns.', '€9'],
  ['Rope bracelet', 'Hand-tied, one size fits most.', '€14'],
] as const;

function productList(): string {
  const items = PRODUCTS.map(
    ([name, text, price]) =>
      `<li class="product"><h3>${escapeHtml(name)}</h3><p>${escapeHtml(text)}</p>` +
      `<p class="price">${escapeHtml(price)}</p></li>`,
  );
  return `<ul class="products">${items.join('')}</ul>`;
}

function intro(input: HostPageInput): string {
  const { links } = input;
  if (input.kind === 'shop') {
    return (
      '<p>This page embeds the Postern widget with its one script tag. Open the chat, write a ' +
      'message: the demo assistant answers and offers a person. Then watch the dialog appear in ' +
      `the <a href="${escapeHtml(links.app)}/">operator console</a>, take it and reply.</p>`
    );
  }
  return (
    '<p>This page carries exactly the same script tag and site token as the ' +
    `<a href="${escapeHtml(links.shop)}/">shop</a>, but its origin is not in the site's ` +
    '<code>allowed_domains</code>. The server refuses it, and the widget says that chat is not ' +
    'available on this site.</p>'
  );
}

/** The full HTML document of a host page. */
export function renderHostPage(input: HostPageInput): string {
  const nonce = escapeHtml(input.nonce);
  const title = input.kind === 'shop' ? 'Postern demo shop' : 'Another site (not allowed)';
  const widgetSrc = escapeHtml(`${input.serverOrigin}/widget.js`);
  return `<!doctype html>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/shop.css">
<script nonce="${nonce}">${QUEUE_STUB}</script>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1></header>
<main>
${intro(input)}
<p><button type="button" id="open-chat">Chat with us</button></p>
<h2>Products</h2>
${productList()}
</main>
<footer><p>Demo pages: <a href="${escapeHtml(input.links.shop)}/">shop</a> ·
<a href="${escapeHtml(input.links.other)}/">not-allowed site</a> ·
<a href="${escapeHtml(input.links.app)}/">operator console</a></p></footer>
<script nonce="${nonce}">${OPEN_BUTTON_SCRIPT}</script>
<script async src="${widgetSrc}" data-site-token="${escapeHtml(input.siteToken)}"></script>
</body>
</html>
`;
}
