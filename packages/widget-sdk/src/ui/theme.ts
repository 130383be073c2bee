/**
 * Theme values from the embed tag. An accent colour is taken only as hex, so it can be checked:
 * the text drawn on it is whichever of black or white contrasts more, which is always at least
 * 4.58:1 (WCAG AA asks 4.5:1) whatever colour a site owner picks.
 */

/** Where the launcher sits. */
export type Position = 'right' | 'left';

export interface Theme {
  /** `#rrggbb`, or `null` for the stylesheet's default. */
  readonly accent: string | null;
  /** `#000000` or `#ffffff`, whichever reads better on `accent`. */
  readonly accentText: string | null;
  readonly position: Position;
}

/** `#rgb` or `#rrggbb` as `#rrggbb` (lower case); `null` for anything else. */
export function parseHexColor(value: string | null | undefined): string | null {
  const match = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec((value ?? '').trim());
  if (!match?.[1]) return null;
  const hex = match[1].toLowerCase();
  return `#${hex.length === 3 ? [...hex].map((digit) => digit + digit).join('') : hex}`;
}

/** WCAG 2 relative luminance of a `#rrggbb` colour. */
export function luminance(hex: string): number {
  const [r = 0, g = 0, b = 0] = [1, 3, 5].map((at) => {
    const channel = Number.parseInt(hex.slice(at, at + 2), 16) / 255;
    return channel <= 0.04045 ? channel / 12.92 : ((channel + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2 contrast ratio of two `#rrggbb` colours, from 1 to 21. */
export function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

/** Black or white, whichever contrasts more with `hex`. */
export function readableOn(hex: string): '#000000' | '#ffffff' {
  return contrast(hex, '#000000') >= contrast(hex, '#ffffff') ? '#000000' : '#ffffff';
}

/** The theme asked for by `data-color` and `data-position`. */
export function themeOf(color: string | undefined, position: string | undefined): Theme {
  const accent = parseHexColor(color);
  return {
    accent,
    accentText: accent && readableOn(accent),
    position: position === 'left' ? 'left' : 'right',
  };
}
