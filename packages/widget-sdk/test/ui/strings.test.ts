import { describe, expect, it } from 'vitest';
import { fill, LOCALES, plural, resolveLocale, type Strings } from '../../src/ui/strings.js';

const english = LOCALES['en'] as Strings;
const PLACEHOLDERS: Partial<Record<keyof Strings, readonly string[]>> = {
  typing: ['who'],
  unread: ['n'],
  offline: ['n'],
};

function templates(value: Strings[keyof Strings]): string[] {
  return typeof value === 'string' ? [value] : Object.values(value);
}

describe('locale tables', () => {
  it('has English and a right-to-left language', () => {
    expect(Object.keys(LOCALES)).toEqual(['en', 'ar']);
    expect(LOCALES['en']?.dir).toBe('ltr');
    expect(LOCALES['ar']?.dir).toBe('rtl');
  });

  it.each(Object.entries(LOCALES))(
    '%s has every string, non-empty, with only known placeholders',
    (_, table) => {
      expect(Object.keys(table).sort()).toEqual(Object.keys(english).sort());
      for (const [key, value] of Object.entries(table) as [
        keyof Strings,
        Strings[keyof Strings],
      ][]) {
        if (typeof value === 'object') expect(value.other, key).toBeTruthy();
        for (const template of templates(value)) {
          expect(template.trim(), key).not.toBe('');
          // Rendered with textContent anyway; markup in a translation would be a mistake.
          expect(template, key).not.toMatch(/[<>&]/);
          const used = [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
          for (const name of used)
            expect(PLACEHOLDERS[key] ?? [], `${key}: {${name}}`).toContain(name);
        }
      }
    },
  );

  it('names the composer "Message" in English (SPEC §7)', () => {
    expect(english.message).toBe('Message');
    expect(english.notAvailable).toBe('Chat is not available on this site.');
  });
});

describe('resolveLocale', () => {
  it('takes the primary language subtag', () => {
    expect(resolveLocale('ar')).toBe('ar');
    expect(resolveLocale('ar-EG')).toBe('ar');
    expect(resolveLocale(' AR_sa ')).toBe('ar');
    expect(resolveLocale('en-GB')).toBe('en');
  });

  it('falls back to English for anything else', () => {
    for (const tag of ['fr', '', null, undefined, '__proto__', 'constructor', 'toString']) {
      expect(resolveLocale(tag)).toBe('en');
    }
  });
});

describe('fill and plural', () => {
  it('fills placeholders as plain text and leaves unknown ones alone', () => {
    expect(fill('{who} is typing…', { who: '<b>Ann</b>' })).toBe('<b>Ann</b> is typing…');
    expect(fill('{n} and {x}', { n: '1' })).toBe('1 and {x}');
  });

  it('picks the English forms', () => {
    expect(plural(english.unread, 1, 'en')).toBe('1 unread message');
    expect(plural(english.unread, 3, 'en')).toBe('3 unread messages');
    expect(plural(english.offline, 1, 'en')).toBe('Offline. 1 message waiting to be sent.');
  });

  it('picks the Arabic forms (one, two, few, many) in Arabic digits', () => {
    const arabic = LOCALES['ar'] as Strings;
    expect(plural(arabic.unread, 1, 'ar')).toBe('رسالة واحدة غير مقروءة');
    expect(plural(arabic.unread, 2, 'ar')).toBe('رسالتان غير مقروءتين');
    expect(plural(arabic.unread, 3, 'ar')).toBe(`${(3).toLocaleString('ar')} رسائل غير مقروءة`);
    expect(plural(arabic.unread, 11, 'ar')).toBe(`${(11).toLocaleString('ar')} رسالة غير مقروءة`);
  });
});
