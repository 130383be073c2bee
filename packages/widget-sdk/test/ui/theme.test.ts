import { describe, expect, it } from 'vitest';
import { contrast, parseHexColor, readableOn, themeOf } from '../../src/ui/theme.js';

describe('parseHexColor', () => {
  it('accepts #rgb and #rrggbb', () => {
    expect(parseHexColor('#0A7')).toBe('#00aa77');
    expect(parseHexColor(' #0b57d0 ')).toBe('#0b57d0');
  });

  it('refuses anything else, so no CSS can ride along', () => {
    for (const value of ['red', '#12345', '0b57d0', 'url(x)', '#fff;color:red', '', undefined]) {
      expect(parseHexColor(value)).toBeNull();
    }
  });
});

describe('contrast', () => {
  it('matches WCAG reference values', () => {
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
    expect(contrast('#ffffff', '#ffffff')).toBe(1);
    expect(contrast('#767676', '#ffffff')).toBeCloseTo(4.54, 2);
  });

  // The stylesheet's text colours on their backgrounds (see styles.ts).
  it.each([
    ['#1f1f1f', '#ffffff'],
    ['#444444', '#ffffff'],
    ['#444444', '#f1f3f4'],
    ['#1f1f1f', '#f1f3f4'],
    ['#8c1d18', '#fce8e6'],
    ['#ffffff', '#b3261e'],
    ['#666666', '#ffffff'],
    ['#ffffff', '#0b57d0'],
  ])('%s on %s is at least 4.5:1', (text, background) => {
    expect(contrast(text, background)).toBeGreaterThanOrEqual(4.5);
  });
});

describe('readableOn', () => {
  it('keeps text on any accent at 4.5:1 or more', () => {
    for (let value = 0; value < 0x1000000; value += 0x010203) {
      const accent = `#${value.toString(16).padStart(6, '0')}`;
      expect(contrast(accent, readableOn(accent)), accent).toBeGreaterThanOrEqual(4.5);
    }
    expect(readableOn('#ffd400')).toBe('#000000');
    expect(readableOn('#0b57d0')).toBe('#ffffff');
  });
});

describe('themeOf', () => {
  it('takes data-color and data-position', () => {
    expect(themeOf('#ffd400', 'left')).toEqual({
      accent: '#ffd400',
      accentText: '#000000',
      position: 'left',
    });
    expect(themeOf(undefined, 'top')).toEqual({
      accent: null,
      accentText: null,
      position: 'right',
    });
  });
});
